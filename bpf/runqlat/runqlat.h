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

#endif
