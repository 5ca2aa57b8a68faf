/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sock:inet_sock_set_state, as tcpconnlat and tcplife read it: the context
 * flavor (CO-RE) and a cheap copy of its address arrays. */
#ifndef SHERLOCK_INET_SOCK_STATE_BPF_H
#define SHERLOCK_INET_SOCK_STATE_BPF_H

#define SHERLOCK_AF_INET6 10

/* The fields we read; in this layout since 4.16 (family, protocol and the
 * v6 addresses came with the move from tcp:tcp_set_state). */
struct trace_event_raw_inet_sock_set_state___sherlock {
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

/* The same context as laid out since 4.16 (the format file of this kernel
 * agrees), for the address arrays: a load through a CO-RE array field moves
 * the ctx pointer by the relocated offset first, which the verifier refuses,
 * and a helper read costs a call per address. CO-RE still checks the layout:
 * the offsets compare as constants after relocation, so only one branch of
 * read_addr() is kept at load. */
struct inet_sock_set_state_fixed {
	__u64 common;
	__u64 skaddr;
	__s32 oldstate;
	__s32 newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u32 saddr;
	__u32 daddr;
	__u64 saddr_v6[2];
	__u64 daddr_v6[2];
};

static __always_inline bool fixed_layout(struct trace_event_raw_inet_sock_set_state___sherlock *ctx)
{
	return bpf_core_field_offset(ctx->saddr) == offsetof(struct inet_sock_set_state_fixed, saddr) &&
	       bpf_core_field_offset(ctx->daddr) == offsetof(struct inet_sock_set_state_fixed, daddr) &&
	       bpf_core_field_offset(ctx->saddr_v6) == offsetof(struct inet_sock_set_state_fixed, saddr_v6) &&
	       bpf_core_field_offset(ctx->daddr_v6) == offsetof(struct inet_sock_set_state_fixed, daddr_v6);
}

/* Address bytes as found in the tracepoint: 16 for IPv6, the first 4 for
 * IPv4 (the caller has zeroed the rest). */
static __always_inline void read_addr(struct trace_event_raw_inet_sock_set_state___sherlock *ctx,
				      __u16 family, __u8 *dst, bool local)
{
	struct inet_sock_set_state_fixed *f = (void *)ctx;

	if (!fixed_layout(ctx)) {
		if (family == SHERLOCK_AF_INET6)
			bpf_probe_read_kernel(dst, 16, local ? (void *)ctx->saddr_v6 : (void *)ctx->daddr_v6);
		else
			bpf_probe_read_kernel(dst, 4, local ? (void *)ctx->saddr : (void *)ctx->daddr);
		return;
	}
	if (family == SHERLOCK_AF_INET6) {
		__u64 a = local ? f->saddr_v6[0] : f->daddr_v6[0];
		__u64 b = local ? f->saddr_v6[1] : f->daddr_v6[1];

		__builtin_memcpy(dst, &a, 8);
		__builtin_memcpy(dst + 8, &b, 8);
	} else {
		__u32 a = local ? f->saddr : f->daddr;

		__builtin_memcpy(dst, &a, 4);
	}
}

#endif
