// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* offcputime: where threads block, weighted by how long. sched:sched_switch
 * runs in the context of the task switched out (current == prev): its
 * stacks and the time are kept by tid; when that tid is switched back in
 * (next), the time it was off the CPU is added to {tgid, comm, stacks}.
 * Filters and the state filter apply to the task switched out, and sleeps in
 * syscalls that only wait for work are left out (skip_idle_syscalls), but an
 * epoll wait that lasts min_poll_wait_us is counted at its exit, with its user
 * stack (a lock wait inside a program's own event loop sleeps there). Blocks
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
/* ...but not a timed sleep (nanosleep, clock_nanosleep) asked for this long
 * or more: a sleep inside a request (a retry's backoff, a rate limiter, a
 * poll for a flag) holds its answer up. Shorter ones (a spin loop's usleep)
 * would cost two stack walks each for nothing. 0: leave every sleep out. */
const volatile __u64 min_sleep_us = 10000;
/* Leave out kernel threads' own sleeps (a kworker's, ksoftirqd's): the
 * analysis does, and on a busy network path they switch thousands of times a
 * second, each a kernel stack walk. */
const volatile bool skip_kernel_threads = true;
#define PF_KTHREAD 0x00200000
/* An epoll wait this long or more is counted, by thread, with its user stack
 * taken at the syscall's exit (where the thread still stands in the call):
 * most are an event loop idle, but a program that waits for a lock or an
 * answer through its own event set (PostgreSQL's latches: a row lock, a
 * synchronous standby) waits there too, and only its stack tells which. A
 * busy loop's waits are short: no stack walk. 0: leave every one out. */
const volatile __u64 min_poll_wait_us = 20000;

/* A block starting at the place of one of its thread's last snapshots
 * (registers, kernel stack, what it counts by, return addresses into the
 * program at sp, innermost Python frame), taken less than this long ago,
 * reuses it: nothing copied, only its time sent. A thread switching tens of
 * thousands of times a second (a ping-pong over a pipe) would otherwise send
 * a stack copy at every switch, more than the ring buffer and user space take
 * (107,771 of 289,225 lost in 5 s here, those blocks then walked by frame
 * pointers, which skip a libc wrapper's caller). A place the same to the
 * register is the same call, but for callers further down at the same depth:
 * a fresh snapshot at least this often bounds what those could take. 0: a
 * snapshot for every block. */
const volatile __u64 snapshot_repeat_ns = 10000000;

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

/* When a thread's latest sleep in an epoll wait began (0: none since its last
 * exit), and its count of voluntary switches then: a start whose count has
 * moved on is another call's, left behind by an exit not seen (the programs
 * attached or detached between the two). Kept on the task itself: a pointer
 * away at every epoll sleep and exit, where a hash costs a lookup and an
 * update or delete, and gone with the thread. */
struct poll_start {
	__u64 ts;
	__u64 nvcsw;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct poll_start);
} poll_starts SEC(".maps");

/* Words at sp looked at for return addresses into the program's own code
 * (the main executable's text): two of its functions calling one libc
 * wrapper from frames of one size leave the same registers, and differ there.
 * Other words are locals that change every call. */
#define SNAPSHOT_TOP_WORDS 16

/* Where a snapshot was taken, and when (0: none to repeat). */
struct snapshot_place {
	__u64 ts;
	__u64 ip, sp, bp;
	__u64 top;    /* the words at sp that point into the program's code, mixed */
	__u64 python; /* python_innermost() */
	__u64 thread; /* the key's: what the block counts by */
	__s32 kernel_stack_id;
	__u32 tgid;
};

/* A thread's last snapshots' places, by slot (a loop that blocks at two or
 * three places in turn repeats each), and the slot the next one takes. */
struct snapshot_places {
	struct snapshot_place slot[STACK_SNAPSHOT_SLOTS];
	__u32 next;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct snapshot_places);
} snapshot_places SEC(".maps");

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

/* Per CPU: bpf_ktime_get_ns() minus the scheduler's clock (rq clock_task, which
 * se.exec_start in /proc/PID/task/TID/sched is on) at this CPU's latest switch.
 * Each CPU's clock leaves out its own steal (and irq) time, so two CPUs' drift
 * apart (14 ms after 100 s here): user space puts a thread's last run on the
 * monotonic clock with its own CPU's offset. At the switch, update_curr has
 * just set prev's exec_start to that clock. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} clock_offsets SEC(".maps");

static __always_inline void note_clock_offset(__u64 now)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 zero = 0;
	__u64 *offset = bpf_map_lookup_elem(&clock_offsets, &zero);
	__u64 exec_start = BPF_CORE_READ(task, se.exec_start);

	if (offset && exec_start && exec_start <= now)
		*offset = now - exec_start;
}

static __always_inline bool state_selected(long prev_state)
{
	__u32 bits = prev_state & OFFCPU_STATE_REPORT_MASK;

	return (bits ? bits : OFFCPU_STATE_RUNNING) & state_mask;
}

/* What the syscall a thread sleeps in waits for. */
enum sleep_kind {
	WORK_WAIT,   /* anything else: counted */
	IDLE_WAIT,   /* only ever waits for work: events, a child, a signal, a connection */
	TIMED_SLEEP, /* nanosleep, clock_nanosleep: idle in a loop, or time lost inside a request */
	FUTEX_WAIT,  /* futex, futex_waitv: a lock, or a park idle in a pool or inside a request */
	POLL_WAIT,   /* epoll_wait and its kin: idle, but a long one is timed at its exit, with its stack */
};

/* Idle syscalls' two stack walks (kernel and user, ~4-5 µs each here) are
 * most of a switch's cost, for waits the analysis leaves out anyway
 * (IDLE_WAITS in src/captures/offcputime/waits.ts). poll and select stay: a
 * resolver waits for its DNS answer in them. A socket's recv calls wait only
 * for data (sk_wait_data and its kin); read() stays: a file's is disk I/O. */
static __always_inline enum sleep_kind sleep_kind_of(long nr)
{
#if defined(__TARGET_ARCH_x86)
	switch (nr) {
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
		return TIMED_SLEEP;
	case 202: /* futex */
	case 449: /* futex_waitv */
		return FUTEX_WAIT;
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		return POLL_WAIT;
	case 34:  /* pause */
	case 43:  /* accept */
	case 45:  /* recvfrom: a socket's reads wait for data (sk_wait_data, its datagram kin) */
	case 47:  /* recvmsg */
	case 61:  /* wait4 */
	case 128: /* rt_sigtimedwait */
	case 130: /* rt_sigsuspend */
	case 247: /* waitid */
	case 288: /* accept4 */
	case 299: /* recvmmsg */
		return IDLE_WAIT;
	}
#elif defined(__TARGET_ARCH_arm64)
	switch (nr) {
	case 101: /* nanosleep */
	case 115: /* clock_nanosleep */
		return TIMED_SLEEP;
	case 98:  /* futex */
	case 449: /* futex_waitv */
		return FUTEX_WAIT;
	case 22:  /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		return POLL_WAIT;
	case 95:  /* waitid */
	case 133: /* rt_sigsuspend */
	case 137: /* rt_sigtimedwait */
	case 202: /* accept */
	case 207: /* recvfrom */
	case 212: /* recvmsg */
	case 242: /* accept4 */
	case 243: /* recvmmsg */
	case 260: /* wait4 */
		return IDLE_WAIT;
	}
#endif
	return WORK_WAIT;
}

#if defined(__TARGET_ARCH_arm64)
#define CLOCK_NANOSLEEP_NR 115
#else
#define CLOCK_NANOSLEEP_NR 230
#endif
#define TIMER_ABSTIME 1
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7
#define ASKED_UNKNOWN (~0ULL)

/* How long a timed sleep starting now was asked to last, in µs: a relative
 * request as is, a deadline (Python's time.sleep: CLOCK_MONOTONIC,
 * TIMER_ABSTIME) less the clock's now; ASKED_UNKNOWN for a deadline on a
 * clock BPF cannot read, or a request it cannot. */
static __always_inline __u64 asked_sleep_us(struct pt_regs *regs, long nr)
{
	struct __kernel_timespec ts;
	__u64 clock = 0, flags = 0, asked, now;
	const void *request;

	if (nr == CLOCK_NANOSLEEP_NR) {
		clock = PT_REGS_PARM1_CORE_SYSCALL(regs);
		flags = PT_REGS_PARM2_CORE_SYSCALL(regs);
		request = (const void *)PT_REGS_PARM3_CORE_SYSCALL(regs);
	} else {
		request = (const void *)PT_REGS_PARM1_CORE_SYSCALL(regs);
	}
	if (bpf_probe_read_user(&ts, sizeof(ts), request) || ts.tv_sec < 0 || ts.tv_nsec < 0)
		return ASKED_UNKNOWN;
	asked = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (!(flags & TIMER_ABSTIME))
		return asked / 1000;
	if (clock == CLOCK_MONOTONIC)
		now = bpf_ktime_get_ns();
	else if (clock == CLOCK_BOOTTIME)
		now = bpf_ktime_get_boot_ns();
	else
		return ASKED_UNKNOWN;
	return asked > now ? (asked - now) / 1000 : 0;
}

/* Notes when a thread's epoll wait began sleeping (its latest sleep in the
 * call: one woken for nothing sleeps again, rarely). sched_switch comes after
 * the switch is counted. */
static __always_inline void note_poll_start(struct task_struct *task, __u64 now)
{
	struct poll_start *start;

	if (!min_poll_wait_us)
		return;
	start = bpf_task_storage_get(&poll_starts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!start)
		return;
	start->ts = now;
	start->nvcsw = task->nvcsw;
}

/* Whether the block now starting is counted, and whether it counts by thread:
 * a timed sleep asked for min_sleep_us or more (idle syscalls left out or not),
 * and a futex wait. An epoll wait's start is noted for its exit. */
static __always_inline bool counted(long prev_state, __u64 now, bool *by_thread)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	long nr;

	*by_thread = false;
	if (skip_kernel_threads && (task->flags & PF_KTHREAD))
		return false;
	/* A task stopped (by a signal or its tracer) inside an idle syscall is stopped, not idle. */
	if (prev_state & (OFFCPU_STATE_STOPPED | OFFCPU_STATE_TRACED))
		return true;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	nr = syscall_nr(regs);
	switch (sleep_kind_of(nr)) {
	case POLL_WAIT:
		note_poll_start(task, now);
		return !skip_idle_syscalls;
	case IDLE_WAIT:
		return !skip_idle_syscalls;
	case TIMED_SLEEP:
		*by_thread = min_sleep_us && asked_sleep_us(regs, nr) >= min_sleep_us;
		return *by_thread || !skip_idle_syscalls;
	case FUTEX_WAIT:
		*by_thread = true;
		return true;
	default:
		return true;
	}
}

/* Where the block now starting is: false when its stack cannot be read. */
static __always_inline bool place_of(struct snapshot_place *place, __u32 tid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 code_start = BPF_CORE_READ(task, mm, start_code), code_end = BPF_CORE_READ(task, mm, end_code);
	__u64 words[SNAPSHOT_TOP_WORDS];

	if (!regs)
		return false;
	place->ip = BPF_CORE_READ(regs, ip);
	place->sp = BPF_CORE_READ(regs, sp);
	place->bp = BPF_CORE_READ(regs, bp);
	if (bpf_probe_read_user(words, sizeof(words), (void *)place->sp))
		return false;
	for (int i = 0; i < SNAPSHOT_TOP_WORDS; i++)
		if (words[i] >= code_start && words[i] < code_end)
			place->top = (place->top ^ words[i]) * 0x100000001b3ULL;
	place->python = python_innermost(place->tgid, tid);
	return true;
}

static __always_inline bool same_place(const struct snapshot_place *a, const struct snapshot_place *b)
{
	return a->ip == b->ip && a->sp == b->sp && a->bp == b->bp && a->top == b->top && a->python == b->python &&
	       a->thread == b->thread && a->kernel_stack_id == b->kernel_stack_id && a->tgid == b->tgid;
}

/* The block's user stack: a repeat of one of the thread's last snapshots,
 * taken less than snapshot_repeat_ns ago at its very place; a snapshot (its
 * time follows at switch-in: STACK_RECORD_END by tid); or, without snapshots
 * or when one is lost, frame pointers in the kernel. */
static __always_inline __s32 user_stack_of(void *ctx, struct stack_key *key, __u32 tid, __u64 now)
{
	struct snapshot_place place = { .thread = key->thread, .kernel_stack_id = key->kernel_stack_id, .tgid = key->tgid };
	struct snapshot_places *last = NULL;
	__u32 slot = 0;

	if (!user_snapshot_bytes)
		return stack_id(ctx, BPF_F_USER_STACK, STACK_USER_LOST);
	if (snapshot_repeat_ns) {
		last = bpf_task_storage_get(&snapshot_places, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (last && !place_of(&place, tid))
			last = NULL;
	}
	if (last) {
		for (int i = 0; i < STACK_SNAPSHOT_SLOTS; i++) {
			struct snapshot_place *seen = &last->slot[i];

			if (seen->ts && now - seen->ts < snapshot_repeat_ns && same_place(seen, &place))
				return STACK_ID_REPEAT(i);
		}
		slot = last->next & (STACK_SNAPSHOT_SLOTS - 1);
	}
	if (send_snapshot(STACK_RECORD_START, key->tgid, tid, key->kernel_stack_id, slot, key->thread)) {
		announce_tgid(key->tgid); /* user space reads its maps (and finds a Python runtime) while it lives */
		if (last) {
			place.ts = now;
			last->slot[slot] = place;
			last->next = slot + 1;
		}
		return STACK_ID_SNAPSHOT;
	}
	if (last)
		last->slot[slot].ts = 0; /* lost: the slot's old snapshot may no longer be the one user space holds there */
	return stack_id(ctx, BPF_F_USER_STACK, STACK_USER_LOST);
}

/* current is the task going off the CPU. */
static __always_inline void switch_out(void *ctx, __u32 tid, __u64 now, bool by_thread)
{
	struct offcpu_start start = {};
	__u64 id = bpf_get_current_pid_tgid();

	start.ts = now;
	start.key.tgid = id >> 32;
	/* A timed sleep and a futex wait count by thread: user space tells a
	 * request's thread sleeping or parked inside its slow answer from a
	 * poller's or an idle pool's beside it. */
	if (by_thread)
		start.key.thread = tid;
	bpf_get_current_comm(start.key.comm, sizeof(start.key.comm));
	start.key.kernel_stack_id = stack_id(ctx, 0, STACK_KERNEL_LOST);
	start.key.user_stack_id = user_stack_of(ctx, &start.key, tid, now);
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
	if (STACK_ID_IS_REPEAT(key.user_stack_id)) {
		send_stack_repeat(tid, delta_us, STACK_ID_REPEAT(0) - key.user_stack_id);
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
	bool by_thread;

	if (prev)
		note_clock_offset(now);
	if (prev && state_selected(ctx->prev_state) && sherlock_current_selected() && counted(ctx->prev_state, now, &by_thread))
		switch_out(ctx, prev, now, by_thread);
	if (next)
		switch_in(next, now);
	return 0;
}

/* An epoll wait ends: one that slept min_poll_wait_us or more is counted by
 * thread, its user stack taken here (the thread is still in the call, its
 * registers and stack as they were when it slept), its kernel stack known:
 * STACK_ID_EPOLL_WAIT. Only while idle syscalls are skipped: else the
 * switches counted it already. */
static __always_inline int poll_wait_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct task_struct *task = bpf_get_current_task_btf();
	struct poll_start *started = bpf_task_storage_get(&poll_starts, task, 0, 0);
	struct offcpu_value zero = {}, *value;
	struct stack_key key = {};
	__u64 delta_us;
	bool same_call;

	if (!started || !started->ts)
		return 0;
	delta_us = (bpf_ktime_get_ns() - started->ts) / 1000;
	same_call = started->nvcsw == task->nvcsw;
	started->ts = 0;
	if (!same_call || !skip_idle_syscalls || delta_us < min_poll_wait_us || (max_block_us && delta_us > max_block_us))
		return 0;
	key.tgid = id >> 32;
	key.thread = tid;
	key.kernel_stack_id = STACK_ID_EPOLL_WAIT;
	if (user_snapshot_bytes && send_snapshot(STACK_RECORD_SAMPLE, key.tgid, tid, STACK_ID_EPOLL_WAIT, delta_us, tid)) {
		announce_tgid(key.tgid);
		return 0;
	}
	key.user_stack_id = stack_id(ctx, BPF_F_USER_STACK, STACK_USER_LOST);
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	value = bpf_map_lookup_or_try_init(&counts, &key, &zero);
	if (!value) {
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return 0;
	}
	__sync_fetch_and_add(&value->total_us, delta_us);
	__sync_fetch_and_add(&value->count, 1);
	if (key.user_stack_id >= 0)
		announce_tgid(key.tgid);
	return 0;
}

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_epoll_wait", tp_exit_epoll_wait, void *ctx)
{
	return poll_wait_exit(ctx);
}

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_epoll_pwait", tp_exit_epoll_pwait, void *ctx)
{
	return poll_wait_exit(ctx);
}

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_epoll_pwait2", tp_exit_epoll_pwait2, void *ctx)
{
	return poll_wait_exit(ctx);
}
