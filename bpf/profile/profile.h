/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* profile: what crosses to user space. Decoded by
 * src/captures/profile/stack-maps.ts; keep the two in step (offcputime.h
 * uses the same key layout on purpose, so one decoder serves both). */
#ifndef PROFILE_H
#define PROFILE_H

#include "../common/sherlock.h"

/* PERF_MAX_STACK_DEPTH: one stack map value is this many u64 addresses. */
#define PROFILE_MAX_STACK_DEPTH 127

/* Key of the map "counts" (value: __u64 samples). A stack id < 0 is the
 * -errno bpf_get_stackid gave: -EFAULT (14) means "no such stack" (a kernel
 * thread's user stack, a sample taken in user mode for the kernel stack);
 * -EEXIST (17) / -ENOMEM (12) mean the stack map had no room (lost). */
struct profile_key {
	__u32 tgid;
	__s32 kernel_stack_id;
	__s32 user_stack_id;
	__u32 pad;
	char comm[TASK_COMM_LEN]; /* the thread's */
};

/* Ring buffer "new_tgids": a process seen for the first time (or again
 * after an exec), so user space snapshots its mappings while it lives. */
struct profile_new_tgid {
	__u32 tgid;
	__u32 pad;
};

/* Per-CPU array "stack_errors": stacks lost because the stack map had no
 * room for them (the sample is kept, without that half of its stack). */
enum profile_stack_error {
	PROFILE_KERNEL_STACK_LOST = 0,
	PROFILE_USER_STACK_LOST = 1,
	PROFILE_STACK_ERRORS = 2,
};

#endif
