/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every capture shares with user space: drop reasons and filter bounds.
 * Mirrored in src/captures/contract.ts; keep the two in step. */
#ifndef SHERLOCK_H
#define SHERLOCK_H

#define TASK_COMM_LEN 16
/* Bound of the in-kernel tgid filter set (map sherlock_tgids). */
#define SHERLOCK_MAX_TGIDS 4096

/* Index into the per-CPU array sherlock_counters. DROP_* count events that
 * were lost; PARTIAL_READ counts records sent with a field it could not read
 * (marked so in the record), which are not lost. */
enum sherlock_counter {
	SHERLOCK_DROP_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve/output failed */
	SHERLOCK_DROP_MAP_FULL = 1,     /* a bounded hash map had no room */
	SHERLOCK_PARTIAL_READ = 2,       /* a probe read of kernel/user memory failed */
	SHERLOCK_DROP_TGIDS_FULL = 3,   /* a followed child could not join the tgid set */
	SHERLOCK_COUNTERS = 8,
};

/* A capture's run count and sampled run time (map sherlock_run_time, per CPU). */
struct sherlock_run_time {
	__u64 ns;         /* run time of the timed runs */
	__u64 runs;       /* every run */
	__u64 timed_runs; /* runs while sherlock_timing was on */
};

/* A log2 histogram: slot i counts values in [2^i, 2^(i+1)), slot 0 also
 * counts 0; the last slot takes everything larger. Decoded by
 * src/captures/histogram.ts. */
#define SHERLOCK_HIST_SLOTS 32

struct sherlock_hist {
	__u64 slots[SHERLOCK_HIST_SLOTS];
	__u64 count;
	__u64 sum;
};

#endif
