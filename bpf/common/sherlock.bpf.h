/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel-side helpers every capture includes once: the standard filters
 * (tgid set, cgroup id, uid, comm) and the drop counters. The names here are a
 * contract with src/captures/contract.ts, which sets and reads them
 * generically, so a capture never writes filter or drop code of its own. */
#ifndef SHERLOCK_BPF_H
#define SHERLOCK_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h> /* ___bpf_ctx_cast, for SHERLOCK_RAW_PROG */
#include "sherlock.h"

/* Debug output goes to the host's trace_pipe for every user and turns on a
 * tracefs event that adds a probe to sched_switch (offcputime then sees the
 * tracepoint's own frames): never in a shipped program. */
#undef bpf_printk
#pragma GCC poison bpf_printk bpf_trace_printk

/* Puts a record no map names (a ring buffer's) into the object's BTF, where
 * test/architecture/record-layouts.test.ts checks its TypeScript decoder
 * against it: a const pointer in .rodata (8 bytes, never read, no new map). */
#define SHERLOCK_RECORD(name) struct name *const volatile sherlock_record_##name = 0

/* Set between open and load by the capture runner. */
const volatile bool filter_by_tgid = false;  /* only tgids in sherlock_tgids */
const volatile bool follow_forks = false;    /* children of selected tgids join the set */
const volatile __u64 filter_cgroup_id = 0;   /* 0: any cgroup (v2 id otherwise) */
const volatile __u32 filter_uid = (__u32)-1; /* -1: any uid */
const volatile char filter_comm[TASK_COMM_LEN] = {}; /* "": any command */
/* Sherlock's own cgroup (v2 id; 0: none): its worker, API, embedded Redis and
 * whatever they start are left out of what a capture sees. Children inherit
 * the cgroup, so forks are followed for free. */
const volatile __u64 exclude_cgroup_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHERLOCK_MAX_TGIDS);
	__type(key, __u32);
	__type(value, __u8);
} sherlock_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHERLOCK_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} sherlock_counters SEC(".maps");

static __always_inline void sherlock_count(enum sherlock_counter counter)
{
	__u32 key = counter;
	__u64 *count = bpf_map_lookup_elem(&sherlock_counters, &key);

	if (count)
		*count += 1; /* per-CPU slot: no atomic needed */
}

/* Run time, counted by the programs themselves. The kernel's own stats
 * (bpf_enable_stats) are switched by patching every BPF dispatch site in the
 * kernel: ~6 ms of CPU and a stall on every CPU per switch, more than all of a
 * capture's attaches. Here every run is counted, and user space samples the
 * time by flipping sherlock_timing (src/captures/run-time-sampler.ts): two
 * clock reads a run while on; while off, a load, a branch and the count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sherlock_timing SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sherlock_run_time);
} sherlock_run_time SEC(".maps");

static __always_inline __u64 sherlock_run_begin(void)
{
	__u32 zero = 0;
	__u32 *on = bpf_map_lookup_elem(&sherlock_timing, &zero);

	return on && *on ? bpf_ktime_get_ns() : 0;
}

static __always_inline void sherlock_run_end(__u64 start)
{
	__u32 zero = 0;
	struct sherlock_run_time *rt = bpf_map_lookup_elem(&sherlock_run_time, &zero);

	if (!rt)
		return;
	rt->runs++; /* per-CPU slot: no atomic needed */
	if (start) {
		rt->timed_runs++;
		rt->ns += bpf_ktime_get_ns() - start;
	}
}

/* A program that counts its runs and, while sampled, its run time:
 *   SHERLOCK_PROG("tracepoint/sched/sched_switch", tp_sched_switch, struct trace_event_raw_sched_switch *ctx)
 *   { ...body, early returns and all... }
 * The body becomes an inlined function of the same context (named ctx). A
 * tail call leaves without the end: the program called counts that run. */
#define SHERLOCK_PROG(sec, name, ctx_decl)				\
	static __always_inline int name##_body(ctx_decl);		\
	SEC(sec) int name(ctx_decl)					\
	{								\
		__u64 start = sherlock_run_begin();			\
		int ret = name##_body(ctx);				\
									\
		sherlock_run_end(start);				\
		return ret;						\
	}								\
	static __always_inline int name##_body(ctx_decl)

/* The same for raw tracepoints, with BPF_PROG's typed arguments. */
#define SHERLOCK_RAW_PROG(sec, name, args...) SHERLOCK_RAW_PROG_THEN(sec, name, , ##args)

/* The same for a raw tracepoint several captures attach to: their programs run
 * from one dispatch, each jumping on to the next (src/libbpf/hook-chain.ts
 * fills name_next). A second program on a raw tracepoint costs a second
 * dispatch, ~35-180 ns a run on this project's VM (retpolines); a tail call
 * with a constant key is a direct jump the kernel patches in, ~10-20 ns. */
#define SHERLOCK_CHAINED_RAW_PROG(sec, name, args...)			\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);			\
		__uint(max_entries, 1);					\
		__uint(key_size, sizeof(__u32));			\
		__uint(value_size, sizeof(__u32));			\
	} name##_next SEC(".maps");					\
	SHERLOCK_RAW_PROG_THEN(sec, name, bpf_tail_call(ctx, &name##_next, 0), ##args)

/* Both of the above: `then` runs after the run is counted (may be empty). */
#define SHERLOCK_RAW_PROG_THEN(sec, name, then, args...)		\
	static __always_inline int name##_body(unsigned long long *ctx, ##args); \
	SEC(sec) int name(unsigned long long *ctx)			\
	{								\
		__u64 start = sherlock_run_begin();			\
		_Pragma("GCC diagnostic push")				\
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")	\
		int ret = name##_body(___bpf_ctx_cast(args));		\
		_Pragma("GCC diagnostic pop")				\
									\
		sherlock_run_end(start);				\
		then;							\
		return ret;						\
	}								\
	static __always_inline int name##_body(unsigned long long *ctx, ##args)

static __always_inline bool sherlock_tgid_selected(__u32 tgid)
{
	return !filter_by_tgid || bpf_map_lookup_elem(&sherlock_tgids, &tgid);
}

static __always_inline bool sherlock_comm_selected(const char *comm)
{
	if (!filter_comm[0])
		return true;
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != filter_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* The task's cgroup on the memory controller's hierarchy: its kernfs id, the
 * directory's inode under that hierarchy's mount (0 without the controller).
 * On a hybrid host whose processes all sit in the v2 root, this is the
 * cgroup runtimes put containers in, and user space can name it without
 * reading /proc/PID/cgroup for every new process. */
static __always_inline __u64 sherlock_memcg_id(struct task_struct *task)
{
	int id;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return 0;
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	return BPF_CORE_READ(task, cgroups, subsys[id], cgroup, kn, id);
}

/* The number of the syscall a task is in, from its user registers (bpf_task_pt_regs). */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return -1;
#endif
}

static __always_inline bool sherlock_cgroup_excluded(__u64 cgroup_id)
{
	return exclude_cgroup_id && cgroup_id == exclude_cgroup_id;
}

/* The filters on the current task's ids: tgid set, cgroup, uid. */
static __always_inline bool sherlock_current_ids_selected(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 cgroup_id;

	if (!sherlock_tgid_selected(tgid))
		return false;
	if (filter_cgroup_id || exclude_cgroup_id) {
		cgroup_id = bpf_get_current_cgroup_id();
		if (filter_cgroup_id && cgroup_id != filter_cgroup_id)
			return false;
		if (sherlock_cgroup_excluded(cgroup_id))
			return false;
	}
	if (filter_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != filter_uid)
		return false;
	return true;
}

/* Every filter for the current task: its ids, then its command name. The
 * comm check also catches processes that exec into the name later. */
static __always_inline bool sherlock_current_selected(void)
{
	char comm[TASK_COMM_LEN];

	if (!sherlock_current_ids_selected())
		return false;
	if (!filter_comm[0])
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	return sherlock_comm_selected(comm);
}

/* Call from sched:sched_process_fork: a selected parent's child is selected too. */
static __always_inline void sherlock_follow_fork(__u32 parent_tgid, __u32 child_tgid)
{
	__u8 one = 1;

	if (!filter_by_tgid || !follow_forks || parent_tgid == child_tgid)
		return;
	if (!bpf_map_lookup_elem(&sherlock_tgids, &parent_tgid))
		return;
	if (bpf_map_update_elem(&sherlock_tgids, &child_tgid, &one, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_TGIDS_FULL);
}

/* Call when a process is gone: followed children must not fill the set. */
static __always_inline void sherlock_forget_tgid(__u32 tgid)
{
	if (filter_by_tgid && follow_forks)
		bpf_map_delete_elem(&sherlock_tgids, &tgid);
}

#endif
