/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* runqlat: what crosses to user space. Decoded by
 * src/captures/runqlat/index.ts; keep the two in step. */
#ifndef RUNQLAT_H
#define RUNQLAT_H

#include "../common/sherlock.h"

/* Key of the per-CPU hash "hists" (value: struct sherlock_hist, µs). Only
 * the fields of the enabled groupings are set; the others stay 0. */
struct runqlat_key {
	__u64 cgroup_id; /* per_cgroup */
	__u32 tgid;      /* per_process */
	__u32 pad;
	char comm[TASK_COMM_LEN]; /* per_process: the thread's */
};

/* Key of the hash "behind": a slow wait (at least behind_min_us) of
 * `tgid` ended when `prev_tgid` left the CPU: what held the CPU last. */
struct runqlat_behind_key {
	__u32 tgid;      /* the waiter; 0 when its task could not be found */
	__u32 prev_tgid; /* 0: the CPU was idle (swapper); RUNQLAT_SHERLOCK: Sherlock's own cgroup */
	char prev_comm[TASK_COMM_LEN];
};

/* prev_tgid of a task in Sherlock's own cgroup (exclude_cgroup_id): its cost is reported apart. */
#define RUNQLAT_SHERLOCK 0xffffffffU

struct runqlat_behind {
	__u64 waits;
	__u64 waited_us;
	__u64 cpus;    /* bit (cpu % 64): the CPUs those waits ended on */
	__u32 allowed; /* the waiter's nr_cpus_allowed at its last such wait */
	__u32 kthread; /* the waiter is a kernel thread (per-CPU by design) */
};

#endif
