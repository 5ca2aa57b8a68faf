/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Log2 histograms without loops (a loop here costs verifier time in every
 * program that records a latency). */
#ifndef SHERLOCK_HISTOGRAM_BPF_H
#define SHERLOCK_HISTOGRAM_BPF_H

#include "sherlock.h"

static __always_inline __u32 sherlock_log2(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 sherlock_log2l(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? sherlock_log2(hi) + 32 : sherlock_log2(v);
}

/* Adds one value; safe from any context (atomic adds). */
static __always_inline void sherlock_hist_add(struct sherlock_hist *hist, __u64 value)
{
	__u32 slot = sherlock_log2l(value);

	if (slot >= SHERLOCK_HIST_SLOTS)
		slot = SHERLOCK_HIST_SLOTS - 1;
	__sync_fetch_and_add(&hist->slots[slot], 1);
	__sync_fetch_and_add(&hist->count, 1);
	__sync_fetch_and_add(&hist->sum, value);
}

#endif
