// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* runqlat: how long runnable tasks wait for a CPU. A task becomes runnable
 * at sched:sched_wakeup / sched_wakeup_new, or when it is switched out
 * still runnable (preempted); the wait ends when sched:sched_switch puts it
 * on a CPU (next_pid). Latencies go to log2 histograms (µs): one overall,
 * and one per process (tgid + comm) or per cgroup.
 *
 * Filtering. Classic tracepoints give the woken task's tid only, and both
 * sched_wakeup and the switch-in run in another task's context, so the
 * woken task's tgid, uid and cgroup cannot come from the bpf_get_current_*
 * helpers. At the switch-in, though, the runqueue's curr already is next
 * (__schedule sets rq->curr before trace_sched_switch): it is reached from
 * prev (current) as prev->se.cfs_rq->rq->curr through CO-RE, checked
 * against next_pid, and the standard filters are applied to that task
 * there. So every wakeup is timestamped (bounded map, entries deleted at
 * the switch-in) and the filters decide at the switch-in. Without
 * CONFIG_FAIR_GROUP_SCHED (no cfs_rq->rq) next's task cannot be found:
 * then latencies count only with no tgid/uid/cgroup filter, under tgid 0.
 *
 * Behind whom. A wait of behind_min_us or more also counts under the task
 * that leaves the CPU at its end (current, at the switch), as runqslower
 * prints it: what held the CPU last, whatever its own filters. With the
 * waiter's allowed CPUs (nr_cpus_allowed) and the CPUs its waits ended on,
 * user space can tell a task crowded by its affinity from a saturated host. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "histogram.bpf.h"
#include "runqlat.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile bool per_process = true;
const volatile bool per_cgroup = false;
const volatile __u64 behind_min_us = 1000;

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

struct trace_event_raw_sched_switch___sherlock {
	pid_t prev_pid;
	long prev_state;
	char next_comm[16];
	pid_t next_pid;
} __attribute__((preserve_access_index));

struct trace_event_raw_sched_wakeup_template___sherlock {
	pid_t pid;
} __attribute__((preserve_access_index));

/* cfs_rq->rq exists only with CONFIG_FAIR_GROUP_SCHED. */
struct cfs_rq___sherlock {
	struct rq *rq;
} __attribute__((preserve_access_index));

/* When each runnable task became runnable, by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* params.maxThreads */
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sherlock_hist);
} overall SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* params.maxGroups */
	__type(key, struct runqlat_key);
	__type(value, struct sherlock_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* params.maxBehind */
	__type(key, struct runqlat_behind_key);
	__type(value, struct runqlat_behind);
} behind SEC(".maps");

/* A zeroed histogram to insert. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sherlock_hist);
} hist_zero SEC(".maps");

static __always_inline void enqueue(__u32 tid)
{
	__u64 now;

	if (!tid)
		return;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&starts, &tid, &now, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
}

SHERLOCK_PROG("tracepoint/sched/sched_wakeup", tp_sched_wakeup, struct trace_event_raw_sched_wakeup_template___sherlock *ctx)
{
	enqueue(ctx->pid);
	return 0;
}

SHERLOCK_PROG("tracepoint/sched/sched_wakeup_new", tp_sched_wakeup_new, struct trace_event_raw_sched_wakeup_template___sherlock *ctx)
{
	enqueue(ctx->pid);
	return 0;
}

/* The task __schedule is switching to: this CPU's rq->curr, reached from
 * prev (current). NULL when this kernel does not link cfs_rq to its rq. */
static __always_inline struct task_struct *next_task(__u32 next_pid)
{
	struct task_struct *prev = (struct task_struct *)bpf_get_current_task();
	struct cfs_rq___sherlock *cfs_rq = NULL;
	struct task_struct *next;
	struct rq *rq;

	if (!bpf_core_field_exists(cfs_rq->rq))
		return NULL;
	cfs_rq = (void *)BPF_CORE_READ(prev, se.cfs_rq);
	if (!cfs_rq)
		return NULL;
	rq = BPF_CORE_READ(cfs_rq, rq);
	if (!rq)
		return NULL;
	next = BPF_CORE_READ(rq, curr);
	if (!next || BPF_CORE_READ(next, pid) != next_pid)
		return NULL;
	return next;
}

static __always_inline __u64 cgroup_id_of(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/* The standard filters on a task that is not current. */
static __always_inline bool task_selected(struct task_struct *task, __u32 tgid, const char *comm)
{
	if (!sherlock_tgid_selected(tgid))
		return false;
	if (filter_cgroup_id || exclude_cgroup_id) {
		__u64 cgroup_id = cgroup_id_of(task);

		if (filter_cgroup_id && cgroup_id != filter_cgroup_id)
			return false;
		if (sherlock_cgroup_excluded(cgroup_id))
			return false;
	}
	if (filter_uid != (__u32)-1 && BPF_CORE_READ(task, cred, uid.val) != filter_uid)
		return false;
	return sherlock_comm_selected(comm);
}

static __always_inline void record(struct runqlat_key *key, __u64 delta_us)
{
	struct sherlock_hist *hist;
	__u32 zero = 0;

	hist = bpf_map_lookup_elem(&overall, &zero);
	if (hist)
		sherlock_hist_add(hist, delta_us);
	if (!per_process && !per_cgroup)
		return;
	hist = bpf_map_lookup_elem(&hists, key);
	if (!hist) {
		struct sherlock_hist *empty = bpf_map_lookup_elem(&hist_zero, &zero);

		if (!empty)
			return;
		hist = bpf_map_lookup_or_try_init(&hists, key, empty);
		if (!hist) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			return;
		}
	}
	sherlock_hist_add(hist, delta_us);
}

/* A slow wait of `tgid` (its task, when known) ended as current left the CPU. */
static __always_inline void record_behind(__u32 tgid, struct task_struct *task, __u64 delta_us)
{
	struct runqlat_behind_key key = { .tgid = tgid, .prev_tgid = bpf_get_current_pid_tgid() >> 32 };
	struct runqlat_behind *value, init = {};

	if (key.prev_tgid && sherlock_cgroup_excluded(bpf_get_current_cgroup_id()))
		key.prev_tgid = RUNQLAT_SHERLOCK;
	else
		bpf_get_current_comm(key.prev_comm, sizeof(key.prev_comm));
	value = bpf_map_lookup_or_try_init(&behind, &key, &init);
	if (!value) {
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&value->waits, 1);
	__sync_fetch_and_add(&value->waited_us, delta_us);
	__sync_fetch_and_or(&value->cpus, 1ULL << (bpf_get_smp_processor_id() & 63));
	if (task) {
		value->allowed = BPF_CORE_READ(task, nr_cpus_allowed);
		value->kthread = !!(BPF_CORE_READ(task, flags) & PF_KTHREAD);
	}
}

SHERLOCK_PROG("tracepoint/sched/sched_switch", tp_sched_switch, struct trace_event_raw_sched_switch___sherlock *ctx)
{
	__u32 prev = ctx->prev_pid, next = ctx->next_pid;
	struct runqlat_key key = {};
	struct task_struct *task;
	__u64 *start, delta_us;
	char comm[TASK_COMM_LEN];

	/* Switched out still runnable (preempted, or yielding): it waits in
	 * the run queue from now. No S/D/T/... bit set means runnable. */
	if (prev && !(ctx->prev_state & 0xff) && sherlock_current_selected())
		enqueue(prev);

	if (!next)
		return 0;
	start = bpf_map_lookup_elem(&starts, &next);
	if (!start)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&starts, &next);

	bpf_probe_read_kernel(comm, sizeof(comm), ctx->next_comm);
	task = next_task(next);
	if (task) {
		key.tgid = BPF_CORE_READ(task, tgid);
		if (!task_selected(task, key.tgid, comm))
			return 0;
		if (per_cgroup)
			key.cgroup_id = cgroup_id_of(task);
	} else {
		/* Unknown process: only an unfiltered (or comm-only) capture counts it. */
		sherlock_count(SHERLOCK_PARTIAL_READ);
		if (filter_by_tgid || filter_cgroup_id || filter_uid != (__u32)-1 || !sherlock_comm_selected(comm))
			return 0;
	}
	if (per_process) {
		__builtin_memcpy(key.comm, comm, sizeof(key.comm));
	} else {
		key.tgid = 0;
	}
	record(&key, delta_us);
	if (delta_us >= behind_min_us)
		record_behind(task ? BPF_CORE_READ(task, tgid) : 0, task, delta_us);
	return 0;
}
