/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* opensnoop records as they cross the ring buffer "events".
 * Decoded by src/captures/opensnoop/decode.ts; keep the two in step. */
#ifndef OPENSNOOP_H
#define OPENSNOOP_H

#include "../common/sherlock.h"

#define OPENSNOOP_PATH_LEN 4096 /* PATH_MAX, NUL included; only the bytes used are sent */

enum opensnoop_syscall {
	OPENSNOOP_OPEN = 1,
	OPENSNOOP_OPENAT = 2,
	OPENSNOOP_OPENAT2 = 3,
};

/* record flags */
#define OPENSNOOP_PATH_PARTIAL 1 /* the path could not be read (or was cut at PATH_LEN) */
#define OPENSNOOP_HOW_PARTIAL 2  /* openat2's struct open_how could not be read */

struct opensnoop_event {
	__u64 ts_ns;       /* bpf_ktime_get_ns() at the syscall's return */
	__u64 flags;       /* O_* as passed (openat2: how->flags) */
	__u64 cgroup_id;   /* cgroup v2 id */
	__u64 memcg_id;    /* the memory controller's cgroup (sherlock_memcg_id) */
	__u32 pid;         /* tgid */
	__u32 tid;
	__u32 uid;
	__s32 ret;         /* the new fd, or -errno */
	__s32 dirfd;       /* AT_FDCWD (-100) for open() and cwd-relative calls */
	__u32 mode;        /* creation mode (only meaningful with O_CREAT/O_TMPFILE) */
	__u32 syscall;     /* enum opensnoop_syscall */
	__u32 path_len;    /* bytes of path[] used, NUL included */
	__u32 rec_flags;   /* OPENSNOOP_*_PARTIAL */
	__u32 pad;
	char comm[TASK_COMM_LEN];
	char path[OPENSNOOP_PATH_LEN];
};

#endif
