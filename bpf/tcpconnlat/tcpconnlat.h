/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpconnlat: the maps user space reads. Decoded by
 * src/captures/tcpconnlat/decode.ts; keep the two in step. */
#ifndef TCPCONNLAT_H
#define TCPCONNLAT_H

#include "../common/sherlock.h"

/* Bound of the slowest-connects list (per CPU); the count kept is the
 * rodata slowest_n, at most this. */
#define TCPCONNLAT_SLOWEST_MAX 128

/* Key of the per-destination maps: dest_hists (value struct sherlock_hist,
 * microseconds) and, with err, failures. */
struct tcpconnlat_dest {
	__u16 family;   /* AF_INET or AF_INET6 */
	__u16 dport;    /* host order */
	__u32 pad;
	__u8 daddr[16]; /* IPv4: the first 4 bytes, the rest zero */
};

struct tcpconnlat_fail_key {
	struct tcpconnlat_dest dest;
	__s32 err;      /* sk->sk_err at SYN_SENT -> CLOSE; 0: closed by its owner */
	__u32 pad;
};

struct tcpconnlat_fail {
	__u64 count;
	__u32 pid;      /* the last process whose connect failed here */
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

/* One completed connect, as the slowest list keeps it. */
struct tcpconnlat_connect {
	__u64 latency_ns; /* 0: an empty slot */
	__u64 ts_ns;      /* bpf_ktime_get_ns() at ESTABLISHED */
	__u64 cgroup_id;
	__u32 pid;        /* tgid of the task that called connect() */
	__u32 tid;
	char comm[TASK_COMM_LEN];
	__u16 family;
	__u16 sport;      /* host order */
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* The per-CPU value of the map slowest: the CPU's slowest_n slowest
 * connects, and which of them is the fastest (the one to replace). */
struct tcpconnlat_slowest {
	__u64 min_ns;
	__u32 min_idx;
	__u32 pad;
	struct tcpconnlat_connect e[TCPCONNLAT_SLOWEST_MAX];
};

#endif
