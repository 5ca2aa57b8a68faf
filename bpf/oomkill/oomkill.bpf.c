// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* oomkill: every OOM kill (oom:mark_victim), one record each: the victim,
 * its memory at the kill, the limits and usage of its memory cgroup and the
 * ancestors (the one that ran out is among them), and the task whose
 * allocation set it off (current: mark_victim runs in its context).
 * The raw tracepoint hands over the victim's task_struct (since 6.8); older
 * kernels' tracepoint has only the pid, and user space switches to that. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "oomkill.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* enum mm_counter: indexes of mm->rss_stat. */
#define OOMKILL_MM_FILEPAGES 0
#define OOMKILL_MM_ANONPAGES 1
#define OOMKILL_MM_SWAPENTS 2
#define OOMKILL_MM_SHMEMPAGES 3

/* rss_stat became percpu counters in 6.2; what get_mm_counter() reads (the global count). */
static __always_inline __u64 mm_counter(struct mm_struct *mm, int member)
{
	__s64 count = BPF_CORE_READ(mm, rss_stat[member].count);

	return count > 0 ? count : 0;
}

static __always_inline struct mem_cgroup *memcg_of(struct task_struct *task)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css = BPF_CORE_READ(task, cgroups, subsys[id]);

	return (struct mem_cgroup *)css; /* css is mem_cgroup's first member */
}

static __always_inline __u64 memcg_cgroup_id(struct mem_cgroup *memcg)
{
	return memcg ? BPF_CORE_READ(memcg, css.cgroup, kn, id) : 0;
}

/* The victim passes the filters (pid set, cgroup, uid, comm), or the trigger does. */
static __always_inline bool victim_selected(struct oomkill_event *e)
{
	if (!sherlock_tgid_selected(e->victim_pid))
		return false;
	if (filter_cgroup_id && e->victim_cgroup_id != filter_cgroup_id)
		return false;
	if (filter_uid != (__u32)-1 && e->victim_uid != filter_uid)
		return false;
	return sherlock_comm_selected(e->victim_comm);
}

static __always_inline void submit(struct oomkill_event *e)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->ts_ns = bpf_ktime_get_ns();
	e->trigger_pid = id >> 32;
	e->trigger_tid = (__u32)id;
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	if (!victim_selected(e) && !sherlock_current_selected())
		return;
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
}

/* One event at a time per CPU: the record is too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct oomkill_event);
} scratch SEC(".maps");

static __always_inline struct oomkill_event *empty_event(void)
{
	__u32 zero = 0;
	struct oomkill_event *e = bpf_map_lookup_elem(&scratch, &zero);

	if (e)
		__builtin_memset(e, 0, sizeof(*e));
	return e;
}

/* 6.8+: TP_PROTO(struct task_struct *task, uid_t uid). */
SHERLOCK_RAW_PROG("raw_tp/mark_victim", raw_mark_victim, struct task_struct *task, uid_t uid)
{
	struct oomkill_event *e = empty_event();
	struct mem_cgroup *memcg;
	struct mm_struct *mm;

	if (!e)
		return 0;
	e->has_task = 1;
	e->victim_pid = BPF_CORE_READ(task, tgid);
	e->victim_tid = BPF_CORE_READ(task, pid);
	e->victim_uid = uid;
	BPF_CORE_READ_STR_INTO(&e->victim_comm, task, comm);
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	e->victim_cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);

	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		e->total_vm_pages = BPF_CORE_READ(mm, total_vm);
		e->file_pages = mm_counter(mm, OOMKILL_MM_FILEPAGES);
		e->anon_pages = mm_counter(mm, OOMKILL_MM_ANONPAGES);
		e->swap_pages = mm_counter(mm, OOMKILL_MM_SWAPENTS);
		e->shmem_pages = mm_counter(mm, OOMKILL_MM_SHMEMPAGES);
		e->pgtables_bytes = BPF_CORE_READ(mm, pgtables_bytes.counter);
	} else {
		sherlock_count(SHERLOCK_PARTIAL_READ);
	}

	memcg = memcg_of(task);
	for (int i = 0; i < OOMKILL_MAX_LEVELS && memcg; i++) {
		e->memcg[i].cgroup_id = memcg_cgroup_id(memcg);
		e->memcg[i].max_pages = BPF_CORE_READ(memcg, memory.max);
		e->memcg[i].usage_pages = BPF_CORE_READ(memcg, memory.usage.counter);
		e->levels = i + 1;
		memcg = (struct mem_cgroup *)BPF_CORE_READ(memcg, css.parent);
	}
	e->trigger_memcg_id = memcg_cgroup_id(memcg_of((struct task_struct *)bpf_get_current_task()));
	submit(e);
	return 0;
}

/* Before 6.8 the tracepoint held the victim's pid alone. */
SHERLOCK_PROG("tracepoint/oom/mark_victim", tp_mark_victim, struct trace_event_raw_mark_victim *ctx)
{
	struct oomkill_event *e = empty_event();

	if (!e)
		return 0;
	e->victim_pid = ctx->pid;
	e->victim_tid = ctx->pid;
	e->victim_uid = (__u32)-1;
	e->trigger_memcg_id = memcg_cgroup_id(memcg_of((struct task_struct *)bpf_get_current_task()));
	submit(e);
	return 0;
}
