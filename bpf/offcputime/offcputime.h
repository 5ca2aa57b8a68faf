/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* offcputime: what crosses to user space. The key, the stack map and the
 * new-tgid records have profile.h's layout, so src/captures/profile/
 * stack-maps.ts decodes both; keep the three in step. */
#ifndef OFFCPUTIME_H
#define OFFCPUTIME_H

#include "../common/sherlock.h"

#define OFFCPU_MAX_STACK_DEPTH 127

/* Same layout as struct profile_key. */
struct offcpu_key {
	__u32 tgid;
	__s32 kernel_stack_id;
	__s32 user_stack_id;
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

/* Value of "counts". */
struct offcpu_value {
	__u64 total_us; /* time blocked, summed */
	__u64 count;    /* blocks */
};

/* Same layout as struct profile_new_tgid. */
struct offcpu_new_tgid {
	__u32 tgid;
	__u32 pad;
};

/* prev_state bits as sched:sched_switch reports them (TASK_REPORT, one bit
 * per state) plus OFFCPU_STATE_RUNNING for a task switched out runnable
 * (preempted or yielding: prev_state has none of the low 8 bits). */
#define OFFCPU_STATE_INTERRUPTIBLE 0x1   /* S */
#define OFFCPU_STATE_UNINTERRUPTIBLE 0x2 /* D */
#define OFFCPU_STATE_REPORT_MASK 0xff    /* S D T t X Z P I */
#define OFFCPU_STATE_RUNNING 0x100       /* R */

enum offcpu_stack_error {
	OFFCPU_KERNEL_STACK_LOST = 0,
	OFFCPU_USER_STACK_LOST = 1,
	OFFCPU_STACK_ERRORS = 2,
};

#endif
