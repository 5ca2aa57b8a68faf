// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpretrans: TCP retransmits counted per flow, TCP state and owning process,
 * in the kernel. Data, SYN and FIN retransmits come from
 * tcp:tcp_retransmit_skb, a listener's SYN-ACK retransmits from
 * tcp:tcp_retransmit_synack. Both run in timer or softirq context: the
 * process is the socket's owner, remembered by tcp_owner.bpf.h. A data
 * segment's size against the connection's MSS, and how many timeouts in a
 * row it had, tell an MTU black hole (only full-size segments lost, each
 * again and again) from loss. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "tcp_owner.bpf.h"
#include "tcpretrans.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Sized by user space (param maxFlows). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcpretrans_key);
	__type(value, struct tcpretrans_value);
} flows SEC(".maps");

/* A data segment's retransmit: its size against the MSS, the timeouts before it. */
static __always_inline void note_segment(struct tcpretrans_value *value, const struct sock *sk, const struct sk_buff *skb)
{
	const struct inet_connection_sock *icsk = (const struct inet_connection_sock *)sk;
	__u32 mss = BPF_CORE_READ((const struct tcp_sock *)sk, mss_cache);
	__u8 timeouts = BPF_CORE_READ(icsk, icsk_retransmits);

	if (mss && BPF_CORE_READ(skb, len) >= mss)
		__sync_fetch_and_add(&value->full_size, 1);
	if (!BPF_CORE_READ(sk, sk_socket))
		__sync_fetch_and_add(&value->orphaned, 1);
	value->mss = mss;
	value->pmtu = BPF_CORE_READ(icsk, icsk_pmtu_cookie);
	if (timeouts > value->max_timeouts)
		value->max_timeouts = timeouts;
}

/* skb: the segment (NULL for a SYN-ACK, whose sk is the listener). */
static __always_inline void count_retransmit(struct tcpretrans_key *key, const void *sk, const struct sk_buff *skb, bool failed)
{
	struct tcpretrans_value *value;
	struct tcp_owner *owner;
	bool selected;
	__u64 now;

	owner = tcp_owner_of(sk, &selected);
	if (!selected)
		return;
	if (owner)
		key->tgid = owner->tgid;

	now = bpf_ktime_get_ns();
	value = tcp_flow_row(flows, key, owner, now);
	if (!value)
		return;
	if (failed) {
		__sync_fetch_and_add(&value->failed, 1);
	} else {
		__sync_fetch_and_add(&value->retransmits, 1);
		if (skb)
			note_segment(value, sk, skb);
	}
	value->last_ns = now;
}

SHERLOCK_PROG("tracepoint/tcp/tcp_retransmit_skb", tp_tcp_retransmit_skb, struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	struct tcpretrans_key key = {};
	bool failed = false;

	key.family = ctx->family;
	key.sport = ctx->sport;
	key.dport = ctx->dport;
	key.state = ctx->state;
	key.type = TCPRETRANS_SEGMENT;
	tcp_copy_addr(key.saddr, key.family, ctx->saddr, ctx->saddr_v6);
	tcp_copy_addr(key.daddr, key.family, ctx->daddr, ctx->daddr_v6);
	/* err arrived in 6.13; before, the tracepoint fired on success only. */
	if (bpf_core_field_exists(ctx->err))
		failed = ctx->err != 0;
	count_retransmit(&key, ctx->skaddr, ctx->skbaddr, failed);
	return 0;
}

/* skaddr is the listener (the request sock is req); its owner is the
 * process that called listen(). */
SHERLOCK_PROG("tracepoint/tcp/tcp_retransmit_synack", tp_tcp_retransmit_synack, struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	struct tcpretrans_key key = {};

	key.family = ctx->family;
	key.sport = ctx->sport;
	key.dport = ctx->dport;
	key.state = TCP_SYN_RECV;
	key.type = TCPRETRANS_SYNACK;
	tcp_copy_addr(key.saddr, key.family, ctx->saddr, ctx->saddr_v6);
	tcp_copy_addr(key.daddr, key.family, ctx->daddr, ctx->daddr_v6);
	count_retransmit(&key, ctx->skaddr, NULL, false);
	return 0;
}
