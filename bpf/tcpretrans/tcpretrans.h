/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpretrans: the map user space reads. Decoded by
 * src/captures/tcpretrans/decode.ts; keep the two in step. */
#ifndef TCPRETRANS_H
#define TCPRETRANS_H

#include "../common/sherlock.h"

enum tcpretrans_type {
	TCPRETRANS_SEGMENT = 1, /* tcp:tcp_retransmit_skb: data, SYN or FIN */
	TCPRETRANS_SYNACK = 2,  /* tcp:tcp_retransmit_synack: a listener's SYN-ACK */
};

/* Key of the map "flows": one row per flow, state at retransmit and owner. */
struct tcpretrans_key {
	__u8 saddr[16];  /* local; IPv4 in the first 4 bytes, the rest zero */
	__u8 daddr[16];  /* remote */
	__u16 sport;     /* host order */
	__u16 dport;
	__u16 family;    /* AF_INET or AF_INET6 */
	__u8 state;      /* TCP state at the retransmit (SYN_RECV for a SYN-ACK) */
	__u8 type;       /* enum tcpretrans_type */
	__u32 tgid;      /* the socket's owner; 0 when unknown */
	__u32 pad;
};

struct tcpretrans_value {
	__u64 retransmits; /* sent again */
	__u64 failed;      /* attempts that failed (err != 0; -EBUSY: still queued) */
	__u64 first_ns;    /* bpf_ktime_get_ns() of the first and last */
	__u64 last_ns;
	__u64 cgroup_id;   /* the owner's */
	char comm[TASK_COMM_LEN]; /* the owner's; empty when unknown */
	/* Segments only: what an MTU black hole looks like (full-size segments
	 * timing out again and again while small packets pass). */
	__u64 full_size;   /* retransmits of a segment of a full MSS or more */
	__u64 orphaned;    /* retransmits on a socket its program had closed (no one waits on it) */
	__u32 mss;         /* the connection's MSS (tcp_sock.mss_cache) at the last one */
	__u32 pmtu;        /* the path MTU it believed (icsk_pmtu_cookie) */
	__u8 max_timeouts; /* most timeouts of one segment in a row before a retransmit (icsk_retransmits) */
	__u8 pad[7];
};

#endif
