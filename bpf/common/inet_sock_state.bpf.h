/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sock:inet_sock_set_state as a raw tracepoint, TP_PROTO(const struct sock
 * *sk, const int oldstate, const int newstate), for every capture that
 * follows TCP states:
 *   SHERLOCK_CHAINED_RAW_PROG(INET_SOCK_SET_STATE, name, struct sock *sk, int oldstate, int newstate)
 * (chained: tcpconnlat, tcplife and the TCP owner programs all attach here)
 * The classic tracepoint copies the socket's ports and both address pairs
 * into a perf record at every state change, ten per loopback connection,
 * whether a program wants them or not: on a connect storm an empty raw
 * program cost half of an empty classic one. Here a program reads the socket only where it needs
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

/* A socket's family, ports (host order) and addresses, as the classic
 * record has them. */
struct sock_addrs {
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 saddr[16]; /* IPv4: the first 4 bytes, the rest zero */
	__u8 daddr[16];
};

/* From one read of the socket's struct sock_common (CO-RE offsets into the
 * copy) and one of its source port: two helper calls instead of five. */
static __always_inline void read_sock_addrs(const struct sock *sk, struct sock_addrs *a)
{
	struct sock_common skc;

	__builtin_memset(a, 0, sizeof(*a));
	if (bpf_core_read(&skc, sizeof(skc), &sk->__sk_common))
		return;
	a->family = skc.skc_family;
	/* Not skc_num: by the change to CLOSE, inet_put_port() has zeroed it. */
	a->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	a->dport = bpf_ntohs(skc.skc_dport);
	if (a->family == SHERLOCK_AF_INET6) {
		__builtin_memcpy(a->saddr, &skc.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(a->daddr, &skc.skc_v6_daddr, 16);
	} else {
		__builtin_memcpy(a->saddr, &skc.skc_rcv_saddr, 4);
		__builtin_memcpy(a->daddr, &skc.skc_daddr, 4);
	}
}

#endif
