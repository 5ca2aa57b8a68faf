/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* syscallerrors: the map "errors" user space reads, and the maps "path_args"
 * and "fd_args" it fills. Decoded by src/captures/syscallerrors/decode.ts; keep the two in step. */
#ifndef SYSCALLERRORS_H
#define SYSCALLERRORS_H

#include "../common/sherlock.h"

/* Bytes of a path kept (a longer one is cut, NUL-terminated). */
#define SYSCALLERRORS_PATH_LEN 128
/* Syscall numbers path_args covers (x86_64 and arm64 stay below 512). */
#define SYSCALLERRORS_MAX_NR 512

/* fd_args: keep the fd for routine errnos too (a lock call: EAGAIN means another process holds the lock). */
#define SYSCALLERRORS_FD_EVEN_ROUTINE 0x80

/* Failures closer than this count as one retry loop (retry_ns). */
#define SYSCALLERRORS_RETRY_GAP_NS 1000000000ULL

/* Key of the map "errors": one row per process, syscall, errno and path or fd. */
struct syscallerrors_key {
	__u32 tgid;
	__u32 nr;       /* syscall number (native table of the architecture) */
	__s32 err;      /* errno, positive */
	__u32 fd;       /* fd calls only (fd_args), 1 + the fd; 0: none (or a routine errno) */
	char path[SYSCALLERRORS_PATH_LEN]; /* file calls only (path_args), else empty */
};

struct syscallerrors_value {
	__u64 count;
	__u64 first_ns; /* bpf_ktime_get_ns() of the first and last failure */
	__u64 last_ns;
	__u64 cgroup_id;
	__u32 tid;      /* the last failing thread */
	__u32 uid;
	char comm[TASK_COMM_LEN];
	/* A socket fd's ends, read when the row is made (a socket reset or
	 * closed is gone from /proc/net/tcp by the time user space looks). */
	__u16 family;   /* AF_INET or AF_INET6; 0: not an inet socket */
	__u16 sport;    /* host byte order */
	__u16 dport;    /* host byte order */
	__u8 protocol;  /* IPPROTO_TCP, IPPROTO_UDP, ... */
	__u8 state;     /* skc_state when the row was made */
	__u8 saddr[16]; /* IPv4: the first 4 bytes */
	__u8 daddr[16];
	/* Time between failures under SYSCALLERRORS_RETRY_GAP_NS apart: a loop
	 * retrying the call, as a busy lock is polled between sleeps. */
	__u64 retry_ns;
	/* The inet address a bind or connect asked for (address_args), when the
	 * first failure had one: a bind refused with EADDRINUSE names its port. */
	__u16 asked_family; /* AF_INET or AF_INET6; 0: none */
	__u16 asked_port;   /* host byte order */
	__u8 asked_addr[16];
};

#endif
