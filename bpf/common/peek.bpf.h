/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* peek(ptr, type, field): a kernel field read as a plain load, where
 * BPF_CORE_READ makes a bpf_probe_read_kernel call (~20 ns each here, and
 * the hot paths of a storm make several per event). bpf_rdonly_cast gives a
 * read-only, untrusted view of kernel memory whose faults the JIT catches;
 * untyped (btf_id 0, kernel 6.17+) because objects relocate against a
 * minimized BTF whose type ids mean nothing to the kernel; the field offset
 * is still a CO-RE relocation. */
#ifndef SHERLOCK_PEEK_BPF_H
#define SHERLOCK_PEEK_BPF_H

#include <bpf/bpf_core_read.h>

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

#define peek(ptr, type, field) \
	(*(typeof(((type *)0)->field) *)(bpf_rdonly_cast((ptr), 0) + bpf_core_field_offset(type, field)))

#endif
