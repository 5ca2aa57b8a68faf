/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sock:inet_sock_set_state as a raw tracepoint, TP_PROTO(const struct sock
 * *sk, const int oldstate, const int newstate), for every capture that
 * follows TCP states:
 *   SHERLOCK_RAW_PROG(INET_SOCK_SET_STATE, name, struct sock *sk, int oldstate, int newstate)
 * The classic tracepoint copies the socket's ports and both address pairs
 * into a perf record at every state change, ten per loopback connection,
 * whether a program wants them or not: on a connect storm a raw program cost
 * half of a classic one. Here a program reads the socket only where it needs
 * to, with the same meaning as the classic record's fields. */
#ifndef SHERLOCK_INET_SOCK_STATE_BPF_H
#define SHERLOCK_INET_SOCK_STATE_BPF_H

#include <bpf/bpf_endian.h>

#define INET_SOCK_SET_STATE "raw_tp/inet_sock_set_state"
#define SHERLOCK_AF_INET6 10

/* sk_protocol: a bitfield before 5.6, a __u16 since; the probed bitfield read serves both. */
static __always_inline bool sock_is_tcp(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline __u16 sock_family(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_family);
}

/* Ports in host order, as the classic record has them. */
static __always_inline __u16 sock_sport(const struct sock *sk)
{
	return bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

static __always_inline __u16 sock_dport(const struct sock *sk)
{
	return bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/* Address bytes: 16 for IPv6, the first 4 for IPv4 (the caller has zeroed
 * the rest). The classic record's sources: inet_saddr and inet_daddr, or
 * sk_v6_rcv_saddr and sk_v6_daddr. */
static __always_inline void read_addr(const struct sock *sk, __u16 family, __u8 *dst, bool local)
{
	if (family == SHERLOCK_AF_INET6) {
		if (local)
			BPF_CORE_READ_INTO((struct in6_addr *)dst, sk, __sk_common.skc_v6_rcv_saddr);
		else
			BPF_CORE_READ_INTO((struct in6_addr *)dst, sk, __sk_common.skc_v6_daddr);
	} else if (local) {
		BPF_CORE_READ_INTO((__be32 *)dst, (struct inet_sock *)sk, inet_saddr);
	} else {
		BPF_CORE_READ_INTO((__be32 *)dst, sk, __sk_common.skc_daddr);
	}
}

#endif
