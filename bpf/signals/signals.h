/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* signals: the record user space reads from the ring buffer "events", and
 * the totals it reads from the map "totals". Decoded by
 * src/captures/signals/decode.ts; keep the two in step. */
#ifndef SIGNALS_H
#define SIGNALS_H

#include "../common/sherlock.h"

enum signals_kind {
	SIGNALS_SIGNAL = 1, /* signal:signal_generate: a signal sent */
	SIGNALS_EXIT = 2,   /* sched:sched_process_exit: a process ended (its last thread) */
};

/* Index into the per-CPU array "totals". */
enum signals_total {
	SIGNALS_EXITS = 0,         /* processes that ended */
	SIGNALS_EXITS_CLEAN = 1,   /* ... with status 0 (not sent as records unless all_exits) */
	SIGNALS_IGNORED = 2,       /* selected signals the target ignored (not sent) */
	SIGNALS_TOTALS = 4,
};

struct signals_event {
	__u64 ts_ns;          /* bpf_ktime_get_ns() */
	__u32 kind;           /* enum signals_kind */
	__u32 pid;            /* signal: the sender's tgid; exit: the process that ended */
	__u32 tid;
	__u32 uid;
	__u64 cgroup_id;      /* the sender's / the process's cgroup v2 id */
	char comm[TASK_COMM_LEN];
	/* SIGNALS_SIGNAL */
	__u32 target_pid;     /* tgid */
	__u32 target_tid;
	__u64 target_cgroup_id;
	char target_comm[TASK_COMM_LEN];
	__s32 sig;
	__s32 code;           /* si_code: 0 SI_USER (kill), -6 SI_TKILL, 0x80 SI_KERNEL, > 0 a fault's */
	__s32 result;         /* enum trace_signal_result: 0 delivered, 1 ignored, 2 already pending, ... */
	__u8 group;           /* sent to the whole thread group */
	/* SIGNALS_EXIT */
	__u8 core_dumped;
	/* SIGNALS_SIGNAL: the target has a handler of its own for it (a JVM's SIGSEGV: its safepoint polls, null checks) */
	__u8 handled;
	__u8 pad;
	__s32 exit_code;      /* exit(N); meaningful when exit_signal is 0 */
	__s32 exit_signal;    /* the signal that ended it, 0 if none */
	__u32 ppid;
	__u64 lifetime_ns;
};

#endif
