/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* reclaim: what crosses to user space. Decoded by
 * src/captures/reclaim/index.ts; keep the two in step. */
#ifndef RECLAIM_H
#define RECLAIM_H

#include "../common/sherlock.h"

enum reclaim_kind {
	RECLAIM_DIRECT = 0, /* the host's free memory ran low (direct reclaim) */
	RECLAIM_MEMCG = 1,  /* a memory cgroup reached its limit */
	RECLAIM_COMPACT = 2, /* compacting memory: an allocation of contiguous pages (a huge page) found none free */
};

/* Key of the hash "stalls": a thread name of a process, its memory cgroup, the kind. */
struct reclaim_key {
	__u64 memcg_id; /* the task's memory cgroup (v1 memory hierarchy, or v2) */
	__u32 tgid;
	__u32 kind;     /* enum reclaim_kind */
	char comm[TASK_COMM_LEN];
};

struct reclaim_stats {
	__u64 stalls;
	__u64 total_ns;
	__u64 max_ns;
	__u64 pages; /* pages the stalls reclaimed */
};

#endif
