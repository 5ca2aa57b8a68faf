/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* offcputime: what crosses to user space besides the shared stack maps and
 * key (bpf/common/stacks.h). */
#ifndef OFFCPUTIME_H
#define OFFCPUTIME_H

#include "../common/stacks.h"

/* Value of "counts". */
struct offcpu_value {
	__u64 total_us; /* time blocked, summed */
	__u64 count;    /* blocks */
};

/* prev_state bits as sched:sched_switch reports them (TASK_REPORT, one bit
 * per state) plus OFFCPU_STATE_RUNNING for a task switched out runnable
 * (preempted or yielding: prev_state has none of the low 8 bits). */
#define OFFCPU_STATE_INTERRUPTIBLE 0x1   /* S */
#define OFFCPU_STATE_UNINTERRUPTIBLE 0x2 /* D */
#define OFFCPU_STATE_STOPPED 0x4         /* T */
#define OFFCPU_STATE_TRACED 0x8          /* t */
#define OFFCPU_STATE_REPORT_MASK 0xff    /* S D T t X Z P I */
#define OFFCPU_STATE_RUNNING 0x100       /* R */

#endif
