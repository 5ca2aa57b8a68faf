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
#include "profile.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EEXIST 17
#define ENOMEM 12

/* Sample the idle task (pid 0) too: time CPUs spent idle. */
const volatile bool include_idle = false;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384); /* params.stackMapEntries */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROFILE_MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Preallocated (perf_event programs may use no other hash). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* params.maxStacks */
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

/* Processes already announced on new_tgids. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192); /* params.maxProcesses */
	__type(key, __u32);
	__type(value, __u8);
} seen_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} new_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROFILE_STACK_ERRORS);
	__type(key, __u32);
	__type(value, __u64);
} stack_errors SEC(".maps");

static __always_inline __s32 stack_id(void *ctx, __u64 flags, __u32 lost_slot)
{
	long id = bpf_get_stackid(ctx, &stacks, flags);

	if (id == -EEXIST || id == -ENOMEM) {
		__u64 *lost = bpf_map_lookup_elem(&stack_errors, &lost_slot);

		if (lost)
			*lost += 1;
		sherlock_count(SHERLOCK_PARTIAL_READ); /* kept, without this stack */
	}
	return id;
}

/* Tells user space about a process the first time it has a user stack here,
 * so its mappings are read while it is alive. On a full ring buffer the
 * mark is taken back: a later sample tries again. */
static __always_inline void announce(__u32 tgid)
{
	struct profile_new_tgid *rec;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&seen_tgids, &tgid))
		return;
	if (bpf_map_update_elem(&seen_tgids, &tgid, &one, BPF_NOEXIST))
		return; /* another CPU won, or the set is full (user space catches up at the end) */
	rec = bpf_ringbuf_reserve(&new_tgids, sizeof(*rec), 0);
	if (!rec) {
		bpf_map_delete_elem(&seen_tgids, &tgid);
		return;
	}
	rec->tgid = tgid;
	rec->pad = 0;
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
}

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), one = 1, *count;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct profile_key key = {};

	if (tid == 0 && !include_idle)
		return 0;
	if (!sherlock_current_selected())
		return 0;

	key.tgid = tgid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.kernel_stack_id = stack_id(ctx, 0, PROFILE_KERNEL_STACK_LOST);
	key.user_stack_id = tid ? stack_id(ctx, BPF_F_USER_STACK, PROFILE_USER_STACK_LOST) : -14;

	count = bpf_map_lookup_elem(&counts, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
	} else if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(&counts, &key); /* another CPU inserted it */
		if (count)
			__sync_fetch_and_add(count, 1);
		else
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
	}
	if (key.user_stack_id >= 0)
		announce(tgid);
	return 0;
}

/* A new image under the same tgid: announce it again (new mappings). */
SEC("tracepoint/sched/sched_process_exec")
int tp_sched_process_exec(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&seen_tgids, &tgid);
	return 0;
}
