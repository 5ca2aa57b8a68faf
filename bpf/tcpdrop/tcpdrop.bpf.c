// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpdrop: packets the kernel dropped, with its reason (skb:kfree_skb,
 * enum skb_drop_reason), counted in the kernel per {reason, packet
 * addresses and ports, socket, dropping function}. The socket is the one the
 * kernel matched the packet to (the tracepoint's rx_sk where this kernel has
 * it, else skb->sk); for a listener its backlog and accept queue are kept,
 * so an accept-queue overflow names its port and size. The owner process is
 * found in user space by the socket's inode: drops run in softirq context,
 * where the current task is whoever was interrupted.
 * Reasons that are not drops (SKB_CONSUMED) or say nothing (NOT_SPECIFIED)
 * are skipped here, by number, as user space read them from the BTF. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "tcpdrop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Reason numbers not counted; 0xffffffff: none. */
const volatile __u32 skip_reason_a = 0xffffffff;
const volatile __u32 skip_reason_b = 0xffffffff;
/* Only drops of TCP and UDP packets/sockets (the default), or every protocol. */
const volatile bool tcp_udp_only = true;

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define HEADER_UNSET 0xffff
#define TCP_TIME_WAIT_STATE 6
#define TCP_LISTEN_STATE 10
#define TCP_NEW_SYN_RECV_STATE 12

/* The tracepoint's record; rx_sk is there since 6.11 (checked by CO-RE). */
struct trace_event_raw_kfree_skb___sherlock {
	void *skbaddr;
	void *location;
	void *rx_sk;
	unsigned short protocol;
	enum skb_drop_reason reason;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240); /* params.maxRows */
	__type(key, struct drop_key);
	__type(value, struct drop_value);
} drops SEC(".maps");

/* Addresses, protocol and ports from the headers the kernel had parsed. */
static __always_inline void read_packet(struct sk_buff *skb, __u16 ethertype, struct drop_key *key)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u8 ihl_byte = 0;

	if (!head || nh == HEADER_UNSET)
		return;
	if (ethertype == ETH_P_IP) {
		key->family = AF_INET;
		bpf_probe_read_kernel(&ihl_byte, 1, head + nh);
		bpf_probe_read_kernel(&key->protocol, 1, head + nh + 9);
		bpf_probe_read_kernel(key->saddr, 4, head + nh + 12);
		bpf_probe_read_kernel(key->daddr, 4, head + nh + 16);
		if (th == HEADER_UNSET || th <= nh)
			th = nh + (ihl_byte & 0xf) * 4;
	} else if (ethertype == ETH_P_IPV6) {
		key->family = AF_INET6;
		bpf_probe_read_kernel(&key->protocol, 1, head + nh + 6);
		bpf_probe_read_kernel(key->saddr, 16, head + nh + 8);
		bpf_probe_read_kernel(key->daddr, 16, head + nh + 24);
		if (th == HEADER_UNSET || th <= nh)
			th = nh + 40;
	} else {
		return;
	}
	if (key->protocol == IPPROTO_TCP || key->protocol == IPPROTO_UDP) {
		__be16 ports[2] = {};
		__u16 sport, dport;

		bpf_probe_read_kernel(ports, sizeof(ports), head + th);
		sport = bpf_ntohs(ports[0]);
		dport = bpf_ntohs(ports[1]);
		/* Only the service's port, taken to be the lower one: the other is
		 * ephemeral, and keeping it would make one row per connection. */
		if (sport && dport && sport < dport)
			key->sport = sport;
		else
			key->dport = dport ? dport : sport;
	}
}

/* The socket's fields; a request or time-wait sock has only sock_common. */
static __always_inline void read_socket(struct sock *sk, struct drop_key *key, __u32 *max_backlog, __u32 *backlog)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	key->sk_state = state;
	key->sk_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!key->family)
		key->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (state == TCP_NEW_SYN_RECV_STATE || state == TCP_TIME_WAIT_STATE)
		return;
	if (!key->protocol)
		key->protocol = BPF_CORE_READ(sk, sk_protocol);
	key->sk_inode = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	if (state == TCP_LISTEN_STATE) {
		*max_backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
		*backlog = BPF_CORE_READ(sk, sk_ack_backlog);
	}
}

SHERLOCK_PROG("tracepoint/skb/kfree_skb", tp_kfree_skb, struct trace_event_raw_kfree_skb___sherlock *ctx)
{
	__u32 reason = ctx->reason, max_backlog = 0, backlog = 0;
	struct sk_buff *skb = ctx->skbaddr;
	struct drop_value fresh = {}, *value;
	struct drop_key key = {};
	struct sock *sk = NULL;
	__u64 now;

	if (reason == skip_reason_a || reason == skip_reason_b)
		return 0;
	if (bpf_core_field_exists(ctx->rx_sk))
		sk = ctx->rx_sk;
	if (!sk)
		sk = BPF_CORE_READ(skb, sk);
	/* A half-open connection's request sock: the listener is the socket that matters. */
	if (sk && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_NEW_SYN_RECV_STATE) {
		struct sock *listener = BPF_CORE_READ(sk, __sk_common.skc_listener); /* rsk_listener */

		if (listener)
			sk = listener;
	}

	key.reason = reason;
	key.location = (__u64)ctx->location;
	read_packet(skb, ctx->protocol, &key);
	if (sk)
		read_socket(sk, &key, &max_backlog, &backlog);
	if (tcp_udp_only && key.protocol != IPPROTO_TCP && key.protocol != IPPROTO_UDP)
		return 0;

	now = bpf_ktime_get_ns();
	value = bpf_map_lookup_elem(&drops, &key);
	if (!value) {
		fresh.first_ns = now;
		value = bpf_map_lookup_or_try_init(&drops, &key, &fresh);
		if (!value) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			return 0;
		}
	}
	__sync_fetch_and_add(&value->count, 1);
	__sync_fetch_and_add(&value->bytes, BPF_CORE_READ(skb, len));
	value->last_ns = now;
	if (max_backlog) {
		value->max_ack_backlog = max_backlog;
		value->ack_backlog = backlog;
	}
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* params.maxListeners */
	__type(key, __u64); /* socket inode */
	__type(value, struct listener_seen);
} listeners SEC(".maps");

/* sk_data_ready on a listener: a connection joined its accept queue. Other
 * sockets (every segment with data) return after the record's family and
 * protocol and one state read. */
SHERLOCK_PROG("tracepoint/sock/sk_data_ready", tp_sk_data_ready, struct trace_event_raw_sk_data_ready *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct listener_seen fresh = {}, *seen;
	__u32 queue;
	__u64 inode;

	if (ctx->protocol != IPPROTO_TCP || (ctx->family != AF_INET && ctx->family != AF_INET6))
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN_STATE)
		return 0;
	inode = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	if (!inode)
		return 0;
	queue = BPF_CORE_READ(sk, sk_ack_backlog);
	seen = bpf_map_lookup_elem(&listeners, &inode);
	if (!seen) {
		fresh.max_ack_backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
		fresh.max_queue = queue;
		fresh.port = BPF_CORE_READ(sk, __sk_common.skc_num);
		if (bpf_map_update_elem(&listeners, &inode, &fresh, BPF_ANY))
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return 0;
	}
	seen->max_ack_backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	if (queue > seen->max_queue)
		seen->max_queue = queue;
	return 0;
}
