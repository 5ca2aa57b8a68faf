/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel half every stack capture shares: the stack map, lost-stack
 * counts, and announcing each process with a user stack once (again after
 * an exec) so user space reads its mappings while it lives. Include once,
 * after sherlock.bpf.h; it defines the sched_process_exec program too. */
#ifndef SHERLOCK_STACKS_BPF_H
#define SHERLOCK_STACKS_BPF_H

#include "maps.bpf.h"
#include "stacks.h"

#define ENOMEM 12

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384); /* params.stackMapEntries */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, STACK_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

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
SHERLOCK_RECORD(stack_new_tgid);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STACK_ERRORS);
	__type(key, __u32);
	__type(value, __u64);
} stack_errors SEC(".maps");

/* The stack's id in "stacks"; a stack the map has no room for is counted
 * lost (the sample is kept without it). */
static __always_inline __s32 stack_id(void *ctx, __u64 flags, __u32 lost_slot)
{
	long id = bpf_get_stackid(ctx, &stacks, flags);

	if (id == -EEXIST || id == -ENOMEM) {
		__u64 *lost = bpf_map_lookup_elem(&stack_errors, &lost_slot);

		if (lost)
			*lost += 1;
		sherlock_count(SHERLOCK_PARTIAL_READ);
	}
	return id;
}

/* Tells user space about a process the first time it has a user stack here.
 * On a full ring buffer the mark is taken back: a later sample tries again. */
static __always_inline void announce_tgid(__u32 tgid)
{
	struct stack_new_tgid *rec;
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

/* A new image under the same tgid: announce it again (new mappings). */
SEC("tracepoint/sched/sched_process_exec")
int tp_sched_process_exec(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&seen_tgids, &tgid);
	return 0;
}

#endif
