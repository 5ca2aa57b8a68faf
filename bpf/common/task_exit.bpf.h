/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* How a process ended, read at sched:sched_process_exit: whether the exiting
 * task is the last thread of its group, and the status wait(2) reports.
 * Shared by execsnoop and signals. */
#ifndef TASK_EXIT_BPF_H
#define TASK_EXIT_BPF_H

#include <bpf/bpf_core_read.h>

/* include/linux/sched/signal.h; a #define, so absent from BTF. Unchanged
 * since 2.6. */
#define SHERLOCK_SIGNAL_GROUP_EXIT 0x00000004

/* group_dead was added to this tracepoint in 6.16. */
struct trace_event_raw_sched_process_exit___sherlock {
	bool group_dead;
} __attribute__((preserve_access_index));

/* Is the exiting task the last live thread of its group? */
static __always_inline bool group_dead(struct trace_event_raw_sched_process_exit___sherlock *ctx,
				       struct task_struct *task)
{
	if (bpf_core_field_exists(ctx->group_dead))
		return ctx->group_dead;
	/* Older kernels: do_exit decremented signal->live before the
	 * tracepoint; two threads may both read 0 (callers settle it). */
	return BPF_CORE_READ(task, signal, live.counter) == 0;
}

/* The status wait(2) reports: the group's code once the group is exiting
 * (exit_group, a fatal signal, or since 6.1 the last thread's exit),
 * otherwise the task's own. Both are wait-status encoded: exit code in bits
 * 8-15, the signal in bits 0-6, 0x80 when it dumped core. */
static __always_inline int wait_status(struct task_struct *task)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);

	if (BPF_CORE_READ(signal, flags) & SHERLOCK_SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(signal, group_exit_code);
	return BPF_CORE_READ(task, exit_code);
}

#endif
