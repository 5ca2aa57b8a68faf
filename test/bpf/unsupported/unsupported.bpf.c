// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Programs this project's kernel cannot run: a kprobe (kprobes compiled out)
 * and an fentry (tracing programs refused). The binding's tests check that
 * each gives NotSupportedError naming the feature, not a raw errno. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("kprobe/do_nanosleep")
int on_kprobe(void *ctx)
{
	return 0;
}

SEC("fentry/do_nanosleep")
int BPF_PROG(on_fentry)
{
	return 0;
}
