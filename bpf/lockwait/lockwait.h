/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* lockwait: what crosses to user space besides the shared stack maps
 * (bpf/common/stacks.h). Decoded by src/captures/lockwait/decode.ts. */
#ifndef LOCKWAIT_H
#define LOCKWAIT_H

#include "../common/stacks.h"

/* What a futex wait was for, from its op and expected value. */
enum lockwait_kind {
	LOCKWAIT_MUTEX = 1, /* a contended lock: FUTEX_LOCK_PI*, or a WAIT for value 2 (glibc's "locked, with waiters") */
	LOCKWAIT_OTHER = 2, /* any other wait: condition variables, semaphores, idle pools */
};

/* With user-stack snapshots (user_snapshot_bytes > 0) a wait goes out as a
 * STACK_RECORD_SAMPLE (value: ns waited) whose group is the futex word with
 * the kind in its low bits: futex words are 4-byte aligned (the kernel
 * refuses others), so the two bits are free. */
#define LOCKWAIT_KIND_BITS 3
#define LOCKWAIT_GROUP(uaddr, kind) ((uaddr) | (kind))

/* Key of "waits": who waited (stack_key: tgid, comm, user stack; no
 * kernel stack, always -EFAULT: it is the futex path) on which futex word. */
struct lockwait_key {
	struct stack_key stack;
	__u64 uaddr;
	__u32 kind; /* enum lockwait_kind */
	__u32 pad;
};

struct lockwait_value {
	__u64 total_ns;
	__u64 count;
	__u64 max_ns;
};

#endif
