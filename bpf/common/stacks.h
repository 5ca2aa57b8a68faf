/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Stack captures (profile, offcputime, lockwait): what crosses to user space. One
 * layout for both, decoded by src/captures/stack-family/ (stack-maps.ts,
 * snapshots.ts); keep them in step. */
#ifndef SHERLOCK_STACKS_H
#define SHERLOCK_STACKS_H

#include "sherlock.h"

/* PERF_MAX_STACK_DEPTH: one stack map value is this many u64 addresses. */
#define STACK_MAX_DEPTH 127

/* Key of the map "counts". A stack id < 0 is the -errno bpf_get_stackid
 * gave: -EFAULT (14) means "no such stack" (a kernel thread's user stack, a
 * sample taken in user mode for the kernel stack); -EEXIST (17) / -ENOMEM
 * (12) mean the stack map had no room (lost). */
struct stack_key {
	__u32 tgid;
	__s32 kernel_stack_id;
	__s32 user_stack_id;
	__u32 thread; /* the thread, where a capture counts by thread too (offcputime's timed sleeps); else 0 */
	char comm[TASK_COMM_LEN]; /* the thread's */
};

/* Ring buffer "new_tgids": a process seen for the first time (or again
 * after an exec), so user space snapshots its mappings while it lives. */
struct stack_new_tgid {
	__u32 tgid;
	__u32 pad;
};

/* Per-CPU array "stack_errors": stacks lost, by half and reason (the
 * sample is kept, without that half of its stack). -EEXIST is a hash
 * collision in the stack map (its bucket holds another stack), -ENOMEM a
 * full map; a snapshot the ring buffer had no room for is lost whole. */
enum stack_error {
	STACK_KERNEL_LOST = 0,      /* -ENOMEM: map full */
	STACK_USER_LOST = 1,        /* -ENOMEM: map full */
	STACK_KERNEL_COLLISION = 2, /* -EEXIST */
	STACK_USER_COLLISION = 3,   /* -EEXIST */
	STACK_SNAPSHOT_LOST = 4,    /* ring buffer "snapshots" full: the sample is lost */
	STACK_SNAPSHOT_FAULT = 5,   /* the user stack could not be read at all */
	STACK_PYTHON_NO_THREAD = 6, /* a Python process's thread without a thread state (running no Python) */
	STACK_PYTHON_LOST = 7,      /* ring buffer full: a sample's Python frames are lost (its native frames kept) */
	STACK_ERRORS = 8,
};

/* User stacks unwound in user space (by CFI, perf --call-graph=dwarf
 * style): the sampled thread's user registers and a copy of its stack from
 * sp up, sent on the ring buffer "snapshots". STACK_SNAPSHOT_MAX bounds the
 * copy (user_snapshot_bytes, a per-run option, is at most this). */
#define STACK_SNAPSHOT_MAX (64 * 1024)
#define STACK_PAGE 4096
/* The copy begins this far below sp where that memory is mapped (flags
 * STACK_SNAPSHOT_BELOW_SP): x86-64's red zone, where leaf code keeps data,
 * and where code that moves sp in its loop (OpenSSL's SHA-2 in AVX2) keeps
 * its caller's sp, which its CFI reads there. */
#define STACK_BELOW_SP 128

enum stack_snapshot_flags {
	STACK_SNAPSHOT_BELOW_SP = 1, /* data starts at sp - STACK_BELOW_SP */
};

enum stack_record_type {
	STACK_RECORD_SAMPLE = 1, /* a snapshot with its value (profile: 1 sample) */
	STACK_RECORD_START = 2,  /* a snapshot whose value comes later (offcputime: switch-out) */
	STACK_RECORD_END = 3,    /* struct stack_end: the value of the last START of tid */
	STACK_RECORD_PYTHON = 4, /* struct python_stack (python_frames.h): Python frames of the next snapshot of tid */
	STACK_RECORD_REPEAT = 5, /* struct stack_repeat: a block of tid at the place of one of its STARTs (its slot), with its value */
};

struct stack_snapshot {
	__u32 type; /* STACK_RECORD_SAMPLE or _START */
	__u32 tgid;
	__u32 tid;
	__s32 kernel_stack_id; /* as in struct stack_key */
	__u64 value;
	__u64 ip, sp, bp;
	__u32 size;  /* bytes of data: the stack from sp up (from sp - STACK_BELOW_SP with that flag) */
	__u32 flags; /* enum stack_snapshot_flags */
	char comm[TASK_COMM_LEN];
	__u64 group; /* what the capture counts by besides the stack (lockwait: its lock); 0: nothing */
	__u8 data[STACK_SNAPSHOT_MAX + STACK_PAGE];
};

#define STACK_SNAPSHOT_HEADER 80 /* offsetof(struct stack_snapshot, data) */

/* user_stack_id of a key whose user stack went out as a snapshot. */
#define STACK_ID_SNAPSHOT (-1000)
/* kernel_stack_id of a wait timed at its syscall's exit, not walked there: an
 * epoll wait (offcputime), which sleeps in ep_poll. */
#define STACK_ID_EPOLL_WAIT (-1001)

/* offcputime keeps the places of each thread's last STACK_SNAPSHOT_SLOTS
 * snapshots (a START's value is its slot); a block at one of them repeats it:
 * its key's user_stack_id is STACK_ID_REPEAT(slot), and no copy is sent. */
#define STACK_SNAPSHOT_SLOTS 4
#define STACK_ID_REPEAT(slot) (-1002 - (__s32)(slot))
#define STACK_ID_IS_REPEAT(id) ((id) <= STACK_ID_REPEAT(0) && (id) > STACK_ID_REPEAT(STACK_SNAPSHOT_SLOTS))

struct stack_end {
	__u32 type; /* STACK_RECORD_END */
	__u32 tid;
	__u64 value; /* offcputime: microseconds blocked */
};

struct stack_repeat {
	__u32 type; /* STACK_RECORD_REPEAT */
	__u32 tid;
	__u64 value; /* microseconds blocked */
	__u32 slot;  /* the START repeated: the one whose value was this slot */
	__u32 pad;
};

#endif
