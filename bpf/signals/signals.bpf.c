// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* signals: who sent which signal to whom (signal:signal_generate, raw: it
 * hands over the target's task_struct), and how processes ended
 * (sched:sched_process_exit: exit code, or the signal and a core dump).
 * Only the signals in targ_sigmask (the fatal ones by default) and only the
 * ends with a non-zero status become records; clean ends are counted. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "task_exit.bpf.h"
#include "signals.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SHERLOCK_RECORD(signals_event);

/* Bit N: signal N is recorded. */
const volatile __u64 targ_sigmask = 0;
/* Record clean ends (status 0) too, not only count them. */
const volatile bool targ_all_exits = false;

/* include/trace/events/signal.h (an enum only in the trace header). */
#define SIGNALS_RESULT_IGNORED 1
/* include/linux/sched/signal.h: SEND_SIG_NOINFO and SEND_SIG_PRIV are the
 * pointers 0 and 1, standing for a signal from a user (kill) and from the kernel. */
#define SIGNALS_SI_USER 0
#define SIGNALS_SI_KERNEL 0x80

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space may resize before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SIGNALS_TOTALS);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

static __always_inline void count_total(enum signals_total which)
{
	__u32 key = which;
	__u64 *n = bpf_map_lookup_elem(&totals, &key);

	if (n)
		*n += 1;
}

static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/* The standard filters applied to another task than current (the target). */
static __always_inline bool task_selected(struct task_struct *task, const char *comm)
{
	if (!sherlock_tgid_selected(BPF_CORE_READ(task, tgid)))
		return false;
	if (filter_cgroup_id && task_cgroup_id(task) != filter_cgroup_id)
		return false;
	if (filter_uid != (__u32)-1 && BPF_CORE_READ(task, cred, uid.val) != filter_uid)
		return false;
	return sherlock_comm_selected(comm);
}

static __always_inline void fill_current(struct signals_event *e, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* The target installed a handler of its own for sig (neither SIG_DFL, 0, nor SIG_IGN, 1): it goes on after it. */
static __always_inline bool handled_by(struct task_struct *task, int sig)
{
	struct sighand_struct *sighand = BPF_CORE_READ(task, sighand);
	unsigned long handler = 0;

	if (sighand && sig > 0 && sig <= 64)
		bpf_core_read(&handler, sizeof(handler), &sighand->action[sig - 1].sa.sa_handler);
	return handler > 1;
}

SHERLOCK_RAW_PROG("raw_tp/signal_generate", raw_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	struct signals_event e = {};

	if (sig <= 0 || sig >= 64 || !(targ_sigmask & (1ULL << sig)))
		return 0;
	if (result == SIGNALS_RESULT_IGNORED && sig != 9) {
		count_total(SIGNALS_IGNORED);
		return 0;
	}
	BPF_CORE_READ_STR_INTO(&e.target_comm, task, comm);
	/* Sent by Sherlock itself (its children: jcmd's SIGQUIT asking a JVM for its perf map, a test's kills): not the host's. */
	if (sherlock_cgroup_excluded(bpf_get_current_cgroup_id()))
		return 0;
	if (!sherlock_current_selected() && !task_selected(task, e.target_comm))
		return 0;

	fill_current(&e, SIGNALS_SIGNAL);
	e.target_pid = BPF_CORE_READ(task, tgid);
	e.target_tid = BPF_CORE_READ(task, pid);
	e.target_cgroup_id = task_cgroup_id(task);
	e.sig = sig;
	if ((unsigned long)info <= 1)
		e.code = info ? SIGNALS_SI_KERNEL : SIGNALS_SI_USER;
	else
		e.code = BPF_CORE_READ(info, si_code);
	e.result = result;
	e.group = group != 0;
	e.handled = handled_by(task, sig);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
	return 0;
}

SHERLOCK_PROG("tracepoint/sched/sched_process_exit", tp_sched_process_exit, struct trace_event_raw_sched_process_exit___sherlock *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct signals_event e = {};
	int status;

	if (!group_dead(ctx, task))
		return 0;
	sherlock_forget_tgid(bpf_get_current_pid_tgid() >> 32);
	if (!sherlock_current_selected())
		return 0;
	count_total(SIGNALS_EXITS);
	status = wait_status(task);
	if (!status) {
		count_total(SIGNALS_EXITS_CLEAN);
		if (!targ_all_exits)
			return 0;
	}
	fill_current(&e, SIGNALS_EXIT);
	e.exit_code = (status >> 8) & 0xff;
	e.exit_signal = status & 0x7f;
	e.core_dumped = (status & 0x80) != 0;
	e.ppid = BPF_CORE_READ(task, real_parent, tgid);
	e.lifetime_ns = e.ts_ns - BPF_CORE_READ(task, start_time);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
	return 0;
}
