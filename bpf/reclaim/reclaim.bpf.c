// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* reclaim: time processes spend stalled reclaiming memory themselves, where
 * an allocation found no free page: direct reclaim (the host ran low) and
 * memory cgroup reclaim (a cgroup reached its limit: the usual way a
 * container near its limit slows down before any OOM kill). Both run in the
 * allocating task's own context, between vmscan's begin and end tracepoints,
 * so the stall is current's. Per (process, thread name, memory cgroup,
 * kind): stalls, time, the longest and pages reclaimed; and one log2
 * histogram (µs) of every stall. Stalls are rare outside memory pressure:
 * nothing here runs on a hot path. Layouts: reclaim.h.
 * Compaction the same way, between compaction's begin and end (one pair per
 * zone): a process's own, moving pages to make a contiguous run for an
 * allocation that found none free (a transparent huge page most often), or
 * asked for in /proc/sys/vm/compact_memory; kcompactd's (a kernel thread,
 * in the background) is no process's stall. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "histogram.bpf.h"
#include "reclaim.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

struct start {
	__u64 ns;
	__u32 kind;
};

/* Threads inside a reclaim, by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* params.maxThreads */
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* params.maxGroups */
	__type(key, struct reclaim_key);
	__type(value, struct reclaim_stats);
} stalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sherlock_hist);
} overall SEC(".maps");

static __always_inline void begin(__u32 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start s = { .ns = bpf_ktime_get_ns(), .kind = kind };

	if (!sherlock_current_selected())
		return;
	if (bpf_map_update_elem(&starts, &tid, &s, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
}

/* The stall of `kind` the thread began ends (a stall of another kind goes on). */
static __always_inline void end(__u32 kind, __u64 pages)
{
	__u64 id = bpf_get_current_pid_tgid(), delta;
	struct reclaim_stats *stats, fresh = {};
	struct reclaim_key key = {};
	struct sherlock_hist *hist;
	__u32 tid = (__u32)id, zero = 0;
	struct start *s;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s || s->kind != kind)
		return;
	delta = bpf_ktime_get_ns() - s->ns;
	key.kind = s->kind;
	bpf_map_delete_elem(&starts, &tid);

	hist = bpf_map_lookup_elem(&overall, &zero);
	if (hist)
		sherlock_hist_add(hist, delta / 1000);

	key.tgid = id >> 32;
	key.memcg_id = sherlock_memcg_id((struct task_struct *)bpf_get_current_task());
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	stats = bpf_map_lookup_or_try_init(&stalls, &key, &fresh);
	if (!stats) {
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&stats->stalls, 1);
	__sync_fetch_and_add(&stats->total_ns, delta);
	__sync_fetch_and_add(&stats->pages, pages);
	if (delta > stats->max_ns)
		stats->max_ns = delta; /* racy between CPUs; a lost maximum is one of two simultaneous stalls */
}

SHERLOCK_PROG("tracepoint/compaction/mm_compaction_begin", tp_compaction_begin, void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (!(BPF_CORE_READ(task, flags) & PF_KTHREAD))
		begin(RECLAIM_COMPACT);
	return 0;
}

SHERLOCK_PROG("tracepoint/compaction/mm_compaction_end", tp_compaction_end, void *ctx)
{
	end(RECLAIM_COMPACT, 0);
	return 0;
}

SHERLOCK_PROG("tracepoint/vmscan/mm_vmscan_direct_reclaim_begin", tp_direct_begin, void *ctx)
{
	begin(RECLAIM_DIRECT);
	return 0;
}

SHERLOCK_PROG("tracepoint/vmscan/mm_vmscan_direct_reclaim_end", tp_direct_end, struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	end(RECLAIM_DIRECT, ctx->nr_reclaimed);
	return 0;
}

SHERLOCK_PROG("tracepoint/vmscan/mm_vmscan_memcg_reclaim_begin", tp_memcg_begin, void *ctx)
{
	begin(RECLAIM_MEMCG);
	return 0;
}

SHERLOCK_PROG("tracepoint/vmscan/mm_vmscan_memcg_reclaim_end", tp_memcg_end, struct trace_event_raw_mm_vmscan_direct_reclaim_end_template *ctx)
{
	end(RECLAIM_MEMCG, ctx->nr_reclaimed);
	return 0;
}
