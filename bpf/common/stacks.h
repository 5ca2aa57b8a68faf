/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Stack captures (profile, offcputime): what crosses to user space. One
 * layout for both, decoded by src/captures/profile/stack-maps.ts; keep the
 * two in step. */
#ifndef SHERLOCK_STACKS_H
#define SHERLOCK_STACKS_H

#include "sherlock.h"

/* PERF_MAX_STACK_DEPTH: one stack map value is this many u64 addresses. */
#define STACK_MAX_DEPTH 127

/* Key of the map "counts". A stack id < 0 is the -errno bpf_get_stackid
 * gave: -EFAULT (14) means "no such stack" (a kernel thread's user stack, a
 * sample taken in user mode for the kernel stack); -EEXIST (17) / -ENOMEM
 * (12) mean the stack map had no room (lost). */
struct stack_key {
	__u32 tgid;
	__s32 kernel_stack_id;
	__s32 user_stack_id;
	__u32 pad;
	char comm[TASK_COMM_LEN]; /* the thread's */
};

/* Ring buffer "new_tgids": a process seen for the first time (or again
 * after an exec), so user space snapshots its mappings while it lives. */
struct stack_new_tgid {
	__u32 tgid;
	__u32 pad;
};

/* Per-CPU array "stack_errors": stacks lost because the stack map had no
 * room for them (the sample is kept, without that half of its stack). */
enum stack_error {
	STACK_KERNEL_LOST = 0,
	STACK_USER_LOST = 1,
	STACK_ERRORS = 2,
};

#endif
