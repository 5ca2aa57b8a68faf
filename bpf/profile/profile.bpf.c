// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* profile: on-CPU stacks sampled at a fixed frequency on every CPU. The
 * runner opens a software CPU-clock perf event per CPU (CaptureDefinition
 * .perfEvent) and attaches do_sample to each. Samples are counted in the
 * kernel by {tgid, thread comm, kernel stack id, user stack id}; user space
 * reads the counts and the stack map once, at the end. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "stacks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Sample the idle task (pid 0) too: time CPUs spent idle. */
const volatile bool include_idle = false;

/* Preallocated (perf_event programs may use no other hash). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* params.maxStacks */
	__type(key, struct stack_key);
	__type(value, __u64);
} counts SEC(".maps");

SHERLOCK_PROG("perf_event", do_sample, struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), zero = 0, *count;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct stack_key key = {};

	if (tid == 0 && !include_idle)
		return 0;
	if (!sherlock_current_selected())
		return 0;

	key.tgid = tgid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.kernel_stack_id = stack_id(ctx, 0, STACK_KERNEL_LOST);
	/* A user thread's stack is unwound in user space from a snapshot: the
	 * sample is counted there. Kernel threads are counted here. */
	if (user_snapshot_bytes && tid && send_snapshot(STACK_RECORD_SAMPLE, tgid, tid, key.kernel_stack_id, 1, 0)) {
		announce_tgid(tgid);
		return 0;
	}
	key.user_stack_id = tid ? stack_id(ctx, BPF_F_USER_STACK, STACK_USER_LOST) : -14;

	count = bpf_map_lookup_or_try_init(&counts, &key, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
	if (key.user_stack_id >= 0)
		announce_tgid(tgid);
	return 0;
}
