// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* biolatency: block I/O latency per disk, from block:block_rq_issue (the
 * request handed to the driver) to block:block_rq_complete, as log2
 * histograms in microseconds.
 *
 * Requests are keyed by (dev, sector): these tracepoints carry no request
 * pointer. Completion runs in interrupt context, so the filters apply at
 * issue, to the issuing task (often the process doing the I/O, but a
 * kworker or kblockd thread when the queue is run asynchronously, and the
 * flusher threads for buffered writeback). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "histogram.bpf.h"
#include "biolatency.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A request between issue and completion. The classic block tracepoints
 * give no request pointer, so a request is its disk and start sector.
 * Kernel-only: user space never reads it, so it is not in biolatency.h. */
struct biolatency_rq {
	__u32 dev;
	__u32 pad;
	__u64 sector;
};

/* Only the fields we read, found by name (CO-RE) wherever the kernel puts them. */
struct trace_event_raw_block_rq___sherlock {
	dev_t dev;
	sector_t sector;
} __attribute__((preserve_access_index));

struct trace_event_raw_block_rq_completion___sherlock {
	dev_t dev;
	sector_t sector;
} __attribute__((preserve_access_index));

/* Issue time of each request in flight. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240); /* user space may resize before load */
	__type(key, struct biolatency_rq);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256); /* disks */
	__type(key, __u32);
	__type(value, struct sherlock_hist);
} hists SEC(".maps");

SHERLOCK_PROG("tracepoint/block/block_rq_issue", tp_block_rq_issue, struct trace_event_raw_block_rq___sherlock *ctx)
{
	struct biolatency_rq rq = { .dev = ctx->dev, .sector = ctx->sector };
	__u64 now;

	if (!sherlock_current_selected())
		return 0;
	now = bpf_ktime_get_ns();
	/* BPF_ANY: a requeued request is issued again; the latest issue counts. */
	if (bpf_map_update_elem(&starts, &rq, &now, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
	return 0;
}

SHERLOCK_PROG("tracepoint/block/block_rq_complete", tp_block_rq_complete, struct trace_event_raw_block_rq_completion___sherlock *ctx)
{
	struct biolatency_rq rq = { .dev = ctx->dev, .sector = ctx->sector };
	struct sherlock_hist *hist;
	__u64 *start, delta;
	__u32 dev = rq.dev;

	start = bpf_map_lookup_elem(&starts, &rq);
	if (!start)
		return 0; /* issued before attach, or by a task not selected */
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &rq);

	hist = bpf_map_lookup_elem(&hists, &dev);
	if (!hist) {
		struct sherlock_hist zero = {}; /* zeroed only on a miss */

		hist = bpf_map_lookup_or_try_init(&hists, &dev, &zero);
		if (!hist) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			return 0;
		}
	}
	sherlock_hist_add(hist, delta / 1000);
	return 0;
}
