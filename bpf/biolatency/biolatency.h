/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* biolatency: the map "hists" holds one struct sherlock_hist (µs) per disk,
 * keyed by the disk's kernel dev_t (major << 20 | minor). Read by
 * src/captures/biolatency/index.ts; keep the two in step. */
#ifndef BIOLATENCY_H
#define BIOLATENCY_H

#include "../common/sherlock.h"

/* A request between issue and completion. The classic block tracepoints
 * give no request pointer, so a request is its disk and start sector. */
struct biolatency_rq {
	__u32 dev;
	__u32 pad;
	__u64 sector;
};

#endif
