/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers every capture shares (libbpf-tools' maps.bpf.h). */
#ifndef SHERLOCK_MAPS_BPF_H
#define SHERLOCK_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/* include/uapi/asm-generic/errno-base.h; a #define, so absent from BTF. */
#ifndef EEXIST
#define EEXIST 17
#endif

/* The value under `key`, made from `init` on first use. Another CPU may
 * insert it between our lookup and update (-EEXIST): either way, look again.
 * NULL when the map is full (or the entry vanished at once): the caller
 * counts the drop. */
static __always_inline void *bpf_map_lookup_or_try_init(void *map, const void *key, const void *init)
{
	void *val;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return 0;
	return bpf_map_lookup_elem(map, key);
}

#endif
