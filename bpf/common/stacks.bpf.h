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

static __always_inline void stack_error(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&stack_errors, &slot);

	if (n)
		*n += 1;
}

/* The stack's id in "stacks"; a stack the map has no room for (full, or
 * its hash bucket taken by another stack) is counted lost, by reason (the
 * sample is kept without it). lost_slot: STACK_KERNEL_LOST or _USER_LOST. */
static __always_inline __s32 stack_id(void *ctx, __u64 flags, __u32 lost_slot)
{
	long id = bpf_get_stackid(ctx, &stacks, flags);

	if (id == -EEXIST || id == -ENOMEM) {
		stack_error(id == -EEXIST ? lost_slot + 2 : lost_slot);
		sherlock_count(SHERLOCK_PARTIAL_READ);
	}
	return id;
}

/* Bytes of user stack copied per sample; 0: user stacks by frame pointers
 * in the kernel (stack map) instead. Set from the run's options. */
const volatile __u32 user_snapshot_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* params.snapshotBufferBytes (configureUnwinding); tiny while unused */
} snapshots SEC(".maps");

/* One scratch record per CPU (too large for the stack or a per-CPU map). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct stack_snapshot);
} snapshot_scratch SEC(".maps");

#include "python_frames.bpf.h"

/* Copies the rest of lo's page into rec->data: the bytes copied, 0 when unmapped. */
static __always_inline __u64 read_first_page(struct stack_snapshot *rec, __u64 lo)
{
	__u64 first = STACK_PAGE - (lo & (STACK_PAGE - 1));

	if (first > STACK_PAGE)
		first = STACK_PAGE;
	return bpf_probe_read_user(rec->data, first, (void *)lo) ? 0 : first;
}

/* Sends the current thread's user registers and the top of its user stack
 * (from just below sp up, page by page until user_snapshot_bytes or an
 * unmapped page)
 * on "snapshots", with the capture's group (struct stack_snapshot). Returns
 * whether it was sent. */
static __always_inline bool send_snapshot(__u32 type, __u32 tgid, __u32 tid, __s32 kernel_stack_id, __u64 value, __u64 group)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 cpu = bpf_get_smp_processor_id();
	struct stack_snapshot *rec;
	struct pt_regs *regs;
	__u64 sp, lo, off;

	if (!task->mm)
		return false; /* a kernel thread: no user stack */
	rec = bpf_map_lookup_elem(&snapshot_scratch, &cpu);
	if (!rec)
		return false;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return false;
	rec->type = type;
	rec->tgid = tgid;
	rec->tid = tid;
	rec->kernel_stack_id = kernel_stack_id;
	rec->value = value;
	rec->ip = BPF_CORE_READ(regs, ip);
	rec->sp = sp = BPF_CORE_READ(regs, sp);
	rec->bp = BPF_CORE_READ(regs, bp);
	rec->flags = 0;
	rec->group = group;
	bpf_get_current_comm(rec->comm, sizeof(rec->comm));

	/* The rest of the first page, then whole pages: the stack's top is a
	 * page boundary, and a read that crosses into an unmapped page fails
	 * whole. From below sp where that page is mapped, else from sp. */
	lo = sp - STACK_BELOW_SP;
	off = read_first_page(rec, lo);
	if (off) {
		rec->flags = STACK_SNAPSHOT_BELOW_SP;
	} else {
		lo = sp;
		off = read_first_page(rec, lo);
		if (!off)
			stack_error(STACK_SNAPSHOT_FAULT);
	}
	for (int i = 0; i < STACK_SNAPSHOT_MAX / STACK_PAGE; i++) {
		__u64 at = off;

		if (at == 0 || at >= user_snapshot_bytes || at >= STACK_SNAPSHOT_MAX)
			break;
		/* at < STACK_SNAPSHOT_MAX (a power of two): the mask changes nothing
		 * but shows the verifier the bound; the barriers keep the compiler
		 * from folding it away into the pointer arithmetic. */
		asm volatile("" : "+r"(at));
		at &= STACK_SNAPSHOT_MAX - 1;
		asm volatile("" : "+r"(at));
		if (bpf_probe_read_user(&rec->data[at], STACK_PAGE, (void *)(lo + at)))
			break;
		off = at + STACK_PAGE;
	}
	if (off > user_snapshot_bytes)
		off = user_snapshot_bytes;
	if (off > STACK_SNAPSHOT_MAX)
		off = STACK_SNAPSHOT_MAX;
	rec->size = off;
	send_python_frames(tgid, tid);
	if (bpf_ringbuf_output(&snapshots, rec, STACK_SNAPSHOT_HEADER + off, 0)) {
		stack_error(STACK_SNAPSHOT_LOST);
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
		return false;
	}
	return true;
}

static __always_inline void send_stack_end(__u32 tid, __u64 value)
{
	struct stack_end end = { .type = STACK_RECORD_END, .tid = tid, .value = value };

	if (bpf_ringbuf_output(&snapshots, &end, sizeof(end), 0))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
}

SHERLOCK_RECORD(stack_repeat);

static __always_inline void send_stack_repeat(__u32 tid, __u64 value, __u32 slot)
{
	struct stack_repeat repeat = { .type = STACK_RECORD_REPEAT, .tid = tid, .value = value, .slot = slot };

	if (bpf_ringbuf_output(&snapshots, &repeat, sizeof(repeat), 0))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
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
SHERLOCK_PROG("tracepoint/sched/sched_process_exec", tp_sched_process_exec, void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&seen_tgids, &tgid);
	return 0;
}

#endif
