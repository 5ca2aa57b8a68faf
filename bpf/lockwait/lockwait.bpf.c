// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lockwait: time threads spend blocked in futex waits (user-space locks),
 * per {process, thread name, waiting user stack, futex word}, summed in the
 * kernel (in user space, with snapshots). sys_enter_futex notes the start of a wait by tid (only wait ops,
 * FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME masked off); sys_exit_futex
 * adds the time. The user stack is taken at the exit, still inside the
 * syscall (the thread's registers and stack are as they were at the enter),
 * and only for waits of at least min_wait_ns, so the many waits that never
 * block (the word changed: EAGAIN) cost a hash update and delete. With
 * snapshots (user_snapshot_bytes) that stack goes to user space to be
 * unwound by CFI, through glibc's lock code, which has no frame pointers: a
 * frame-pointer walk from there skips the function that took the lock. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "stacks.bpf.h"
#include "lockwait.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 min_wait_ns = 1000;
/* Count LOCKWAIT_OTHER waits too (condition variables, idle threads). */
const volatile bool count_other_waits = true;

/* include/uapi/linux/futex.h: #defines, absent from BTF. */
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
/* glibc's lowlevellock: 2 = locked, with waiters; a thread waits for it to change. */
#define GLIBC_LOCKED_WAITERS 2

#ifndef EFAULT
#define EFAULT 14
#endif

struct futex_start {
	__u64 ts;
	__u64 uaddr;
	__u32 kind;
	__u32 pad;
};

/* Threads in a futex wait now, by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* params.maxThreads */
	__type(key, __u32);
	__type(value, struct futex_start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* params.maxStacks */
	__type(key, struct lockwait_key);
	__type(value, struct lockwait_value);
} waits SEC(".maps");

static __always_inline __u32 wait_kind(int op, __u32 val)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
		return LOCKWAIT_MUTEX;
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		return val == GLIBC_LOCKED_WAITERS ? LOCKWAIT_MUTEX : LOCKWAIT_OTHER;
	case FUTEX_WAIT_REQUEUE_PI:
		return LOCKWAIT_OTHER;
	default:
		return 0; /* wakes, requeues: not a wait */
	}
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_futex", tp_sys_enter_futex, struct trace_event_raw_sys_enter *ctx)
{
	__u32 kind = wait_kind((int)ctx->args[1], (__u32)ctx->args[2]);
	struct futex_start start = {};
	__u32 tid;

	if (!kind || (kind == LOCKWAIT_OTHER && !count_other_waits))
		return 0;
	if (ctx->args[0] & LOCKWAIT_KIND_BITS)
		return 0; /* unaligned: refused (EINVAL), never a wait */
	if (!sherlock_current_selected())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	start.ts = bpf_ktime_get_ns();
	start.uaddr = ctx->args[0];
	start.kind = kind;
	if (bpf_map_update_elem(&starts, &tid, &start, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
	return 0;
}

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_futex", tp_sys_exit_futex, struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct futex_start *start = bpf_map_lookup_elem(&starts, &tid);
	struct lockwait_value zero = {}, *value;
	struct lockwait_key key = {};
	__u64 delta;

	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - start->ts;
	key.uaddr = start->uaddr;
	key.kind = start->kind;
	bpf_map_delete_elem(&starts, &tid);
	if (delta < min_wait_ns)
		return 0;

	key.stack.tgid = id >> 32;
	key.stack.kernel_stack_id = -EFAULT; /* none: always the futex path */
	/* Sent whole, counted in user space; on a full ring buffer, frame pointers here. */
	if (user_snapshot_bytes &&
	    send_snapshot(STACK_RECORD_SAMPLE, key.stack.tgid, tid, -EFAULT, delta, LOCKWAIT_GROUP(key.uaddr, key.kind))) {
		announce_tgid(key.stack.tgid);
		return 0;
	}
	key.stack.user_stack_id = stack_id(ctx, BPF_F_USER_STACK, STACK_USER_LOST);
	bpf_get_current_comm(key.stack.comm, sizeof(key.stack.comm));

	value = bpf_map_lookup_or_try_init(&waits, &key, &zero);
	if (!value) {
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return 0;
	}
	__sync_fetch_and_add(&value->total_ns, delta);
	__sync_fetch_and_add(&value->count, 1);
	if (delta > value->max_ns)
		value->max_ns = delta; /* racy by design: a max seen by one of two CPUs at once is still a max */
	if (key.stack.user_stack_id >= 0)
		announce_tgid(key.stack.tgid);
	return 0;
}
