/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* syscallerrors: the map "errors" user space reads, and the map "path_args"
 * it fills. Decoded by src/captures/syscallerrors/decode.ts; keep the two in step. */
#ifndef SYSCALLERRORS_H
#define SYSCALLERRORS_H

#include "../common/sherlock.h"

/* Bytes of a path kept (a longer one is cut, NUL-terminated). */
#define SYSCALLERRORS_PATH_LEN 128
/* Syscall numbers path_args covers (x86_64 and arm64 stay below 512). */
#define SYSCALLERRORS_MAX_NR 512

/* Key of the map "errors": one row per process, syscall, errno and path. */
struct syscallerrors_key {
	__u32 tgid;
	__u32 nr;       /* syscall number (native table of the architecture) */
	__s32 err;      /* errno, positive */
	__u32 pad;
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
};

#endif
