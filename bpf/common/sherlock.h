/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every capture shares with user space: drop reasons and filter bounds.
 * Mirrored in src/captures/contract.ts; keep the two in step. */
#ifndef SHERLOCK_H
#define SHERLOCK_H

#define TASK_COMM_LEN 16
/* Bound of the in-kernel tgid filter set (map sherlock_tgids). */
#define SHERLOCK_MAX_TGIDS 4096

/* Index into the per-CPU array sherlock_drops: why an event was lost. */
enum sherlock_drop_reason {
	SHERLOCK_DROP_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve/output failed */
	SHERLOCK_DROP_MAP_FULL = 1,     /* a bounded hash map had no room */
	SHERLOCK_DROP_READ_FAILED = 2,  /* a probe read of kernel/user memory failed */
	SHERLOCK_DROP_TGIDS_FULL = 3,   /* a followed child could not join the tgid set */
	SHERLOCK_DROP_REASONS = 8,
};

#endif
