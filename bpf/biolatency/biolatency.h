/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* biolatency: the map "hists" holds one struct sherlock_hist (µs) per disk,
 * keyed by the disk's kernel dev_t (major << 20 | minor). Read by
 * src/captures/biolatency/index.ts; keep the two in step. */
#ifndef BIOLATENCY_H
#define BIOLATENCY_H

#include "../common/sherlock.h"

#endif
