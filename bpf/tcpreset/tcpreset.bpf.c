// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpreset: TCP resets sent (tcp:tcp_send_reset) and received
 * (tcp:tcp_receive_reset), counted per flow, direction, TCP state and owning
 * process in the kernel. A sent reset may have no socket at all (a segment
 * to a closed port), a request sock (attributed to its listener's owner) or
 * a timewait sock; the owner comes from tcp_owner.bpf.h, since most resets
 * are sent and taken in softirq context. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "tcp_owner.bpf.h"
#include "tcpreset.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Sized by user space (param maxFlows). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcpreset_key);
	__type(value, struct tcpreset_value);
} resets SEC(".maps");

/* reason arrived in 6.10. */
struct trace_event_raw_tcp_send_reset___sherlock {
	enum sk_rst_reason reason;
} __attribute__((preserve_access_index));

static __always_inline void count_reset(struct tcpreset_key *key, const void *owner_sk)
{
	struct tcpreset_value *value;
	struct tcp_owner *owner;
	bool selected;
	__u64 now;

	owner = tcp_owner_of(owner_sk, &selected);
	if (!selected)
		return;
	if (owner) {
		key->tgid = owner->tgid;
		if (key->state == TCP_CLOSE)
			key->closed_from = owner->closed_from;
	}

	now = bpf_ktime_get_ns();
	value = tcp_flow_row(resets, key, owner, now);
	if (!value)
		return;
	__sync_fetch_and_add(&value->count, 1);
	value->last_ns = now;
}

/* A struct sockaddr_in or sockaddr_in6 as the tracepoint stores it. */
static __always_inline __u16 read_sockaddr(const __u8 *sa, __u8 *addr, __u16 *port)
{
	__u8 buf[28] = {};
	__u16 family;

	bpf_probe_read_kernel(buf, sizeof(buf), sa);
	family = buf[0] | (buf[1] << 8); /* sa_family, host order (little-endian BPF target) */
	*port = (buf[2] << 8) | buf[3];  /* sin_port / sin6_port, network order */
	if (family == TCP_AF_INET6)
		__builtin_memcpy(addr, &buf[8], 16);
	else if (family == TCP_AF_INET)
		__builtin_memcpy(addr, &buf[4], 4);
	return family;
}

SHERLOCK_PROG("tracepoint/tcp/tcp_send_reset", tp_tcp_send_reset, struct trace_event_raw_tcp_send_reset *ctx)
{
	struct tcpreset_key key = {};
	const void *sk = ctx->skaddr, *owner_sk = NULL;
	int state = sk ? ctx->state : 0;

	key.direction = TCPRESET_SENT;
	key.state = state;
	key.reason = TCPRESET_NO_REASON;
	if (bpf_core_field_exists(((struct trace_event_raw_tcp_send_reset___sherlock *)ctx)->reason))
		key.reason = ((struct trace_event_raw_tcp_send_reset___sherlock *)ctx)->reason;
	/* saddr is the sender's (our) end: the kernel reverses the segment's
	 * 4-tuple when the reset answers one without a full socket. */
	key.family = read_sockaddr(ctx->saddr, key.saddr, &key.sport);
	read_sockaddr(ctx->daddr, key.daddr, &key.dport);

	if (sk && state == TCP_NEW_SYN_RECV) /* a request sock: its listener owns it */
		owner_sk = BPF_CORE_READ((struct request_sock *)sk, __req_common.skc_listener);
	else if (sk && state != TCP_TIME_WAIT)
		owner_sk = sk, key.full_socket = 1;
	count_reset(&key, owner_sk);
	return 0;
}

/* Runs in tcp_reset(), before tcp_done(): the socket is still in the state
 * that took the reset (SYN_SENT for a refused connect). */
SHERLOCK_PROG("tracepoint/tcp/tcp_receive_reset", tp_tcp_receive_reset, struct trace_event_raw_tcp_event_sk *ctx)
{
	struct tcpreset_key key = {};
	const struct sock *sk = ctx->skaddr;

	key.direction = TCPRESET_RECEIVED;
	key.family = ctx->family;
	key.sport = ctx->sport;
	key.dport = ctx->dport;
	key.reason = TCPRESET_NO_REASON;
	key.full_socket = 1;
	tcp_copy_addr(key.saddr, key.family, ctx->saddr, ctx->saddr_v6);
	tcp_copy_addr(key.daddr, key.family, ctx->daddr, ctx->daddr_v6);
	if (sk)
		key.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	count_reset(&key, sk);
	return 0;
}
