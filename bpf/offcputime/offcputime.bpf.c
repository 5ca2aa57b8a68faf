// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* offcputime: where threads block, weighted by how long. sched:sched_switch
 * runs in the context of the task switched out (current == prev): its
 * stacks and the time are kept by tid; when that tid is switched back in
 * (next), the time it was off the CPU is added to {tgid, comm, stacks}.
 * Filters and the state filter apply to the task switched out, and sleeps in
 * syscalls that only wait for work are left out (skip_idle_syscalls). Blocks
 * still open at the end are read by user space from "starts". */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "stacks.bpf.h"
#include "offcputime.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 min_block_us = 1;
const volatile __u64 max_block_us = 0; /* 0: no limit */
/* OFFCPU_STATE_* bits of the states counted. */
const volatile __u32 state_mask = OFFCPU_STATE_INTERRUPTIBLE | OFFCPU_STATE_UNINTERRUPTIBLE;
/* Leave out threads asleep in a syscall that only ever waits for work. */
const volatile bool skip_idle_syscalls = true;

/* What sched_switch records; stable since 4.x, read through CO-RE. */
struct trace_event_raw_sched_switch___sherlock {
	char prev_comm[16];
	pid_t prev_pid;
	long prev_state;
	pid_t next_pid;
} __attribute__((preserve_access_index));

struct offcpu_start {
	__u64 ts;
	struct stack_key key;
};

/* Threads off the CPU now, by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* params.maxThreads */
	__type(key, __u32);
	__type(value, struct offcpu_start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* params.maxStacks */
	__type(key, struct stack_key);
	__type(value, struct offcpu_value);
} counts SEC(".maps");

static __always_inline bool state_selected(long prev_state)
{
	__u32 bits = prev_state & OFFCPU_STATE_REPORT_MASK;

	return (bits ? bits : OFFCPU_STATE_RUNNING) & state_mask;
}

/* A syscall whose sleep is always idle: waiting for events, a timer, a child,
 * a signal or a connection. Its two stack walks (kernel and user, ~4-5 µs each
 * here) are most of a switch's cost, for waits the analysis leaves out anyway
 * (IDLE_WAITS in src/captures/offcputime/waits.ts). poll and select stay: a
 * resolver waits for its DNS answer in them. */
static __always_inline bool in_idle_syscall(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

#if defined(__TARGET_ARCH_x86)
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case 34:  /* pause */
	case 35:  /* nanosleep */
	case 43:  /* accept */
	case 61:  /* wait4 */
	case 128: /* rt_sigtimedwait */
	case 130: /* rt_sigsuspend */
	case 230: /* clock_nanosleep */
	case 232: /* epoll_wait */
	case 247: /* waitid */
	case 281: /* epoll_pwait */
	case 288: /* accept4 */
	case 441: /* epoll_pwait2 */
		return true;
	}
#elif defined(__TARGET_ARCH_arm64)
	switch (BPF_CORE_READ(regs, syscallno)) {
	case 22:  /* epoll_pwait */
	case 95:  /* waitid */
	case 101: /* nanosleep */
	case 115: /* clock_nanosleep */
	case 133: /* rt_sigsuspend */
	case 137: /* rt_sigtimedwait */
	case 202: /* accept */
	case 242: /* accept4 */
	case 260: /* wait4 */
	case 441: /* epoll_pwait2 */
		return true;
	}
#endif
	return false;
}

/* current is the task going off the CPU. */
static __always_inline void switch_out(void *ctx, __u32 tid, __u64 now)
{
	struct offcpu_start start = {};
	__u64 id = bpf_get_current_pid_tgid();

	start.ts = now;
	start.key.tgid = id >> 32;
	bpf_get_current_comm(start.key.comm, sizeof(start.key.comm));
	start.key.kernel_stack_id = stack_id(ctx, 0, STACK_KERNEL_LOST);
	/* With snapshots the user stack goes to user space now, and the time
	 * follows at switch-in (STACK_RECORD_END by tid). */
	if (user_snapshot_bytes && send_snapshot(STACK_RECORD_START, start.key.tgid, tid, start.key.kernel_stack_id, 0, 0)) {
		start.key.user_stack_id = STACK_ID_SNAPSHOT;
		announce_tgid(start.key.tgid); /* user space reads its maps (and finds a Python runtime) while it lives */
	} else
		start.key.user_stack_id = stack_id(ctx, BPF_F_USER_STACK, STACK_USER_LOST);
	if (bpf_map_update_elem(&starts, &tid, &start, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
}

static __always_inline void switch_in(__u32 tid, __u64 now)
{
	struct offcpu_start *found = bpf_map_lookup_elem(&starts, &tid);
	struct offcpu_value zero = {}, *value;
	struct stack_key key;
	__u64 delta_us;

	if (!found)
		return;
	delta_us = (now - found->ts) / 1000;
	key = found->key;
	bpf_map_delete_elem(&starts, &tid);
	if (delta_us < min_block_us || (max_block_us && delta_us > max_block_us))
		return;
	if (key.user_stack_id == STACK_ID_SNAPSHOT) {
		send_stack_end(tid, delta_us);
		return;
	}

	value = bpf_map_lookup_or_try_init(&counts, &key, &zero);
	if (!value) {
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&value->total_us, delta_us);
	__sync_fetch_and_add(&value->count, 1);
	if (key.user_stack_id >= 0)
		announce_tgid(key.tgid);
}

SHERLOCK_PROG("tracepoint/sched/sched_switch", tp_sched_switch, struct trace_event_raw_sched_switch___sherlock *ctx)
{
	__u32 prev = ctx->prev_pid, next = ctx->next_pid;
	__u64 now = bpf_ktime_get_ns();

	/* A task stopped (by a signal or its tracer) inside an idle syscall is stopped, not idle. */
	if (prev && state_selected(ctx->prev_state) && sherlock_current_selected() &&
	    !(skip_idle_syscalls && !(ctx->prev_state & (OFFCPU_STATE_STOPPED | OFFCPU_STATE_TRACED)) && in_idle_syscall()))
		switch_out(ctx, prev, now);
	if (next)
		switch_in(next, now);
	return 0;
}
