/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcplife records as they cross the ring buffer "events".
 * Decoded by src/captures/tcplife/decode.ts; keep the two in step. */
#ifndef TCPLIFE_H
#define TCPLIFE_H

#include "../common/sherlock.h"

enum tcplife_flags {
	TCPLIFE_ACTIVE = 1,        /* opened by connect() (seen entering SYN_SENT) */
	TCPLIFE_PASSIVE = 2,       /* accepted (seen entering SYN_RECV from LISTEN) */
	TCPLIFE_ESTABLISHED = 4,   /* reached ESTABLISHED (not set: a failed connect) */
	TCPLIFE_OWNER_UNKNOWN = 8, /* passive, and no close()/shutdown() named its owner: pid 0 */
};

/* One connection, sent when it reaches TCP_CLOSE. */
struct tcplife_event {
	__u64 ts_ns;          /* bpf_ktime_get_ns() at TCP_CLOSE */
	__u64 duration_ns;    /* from SYN_SENT / SYN_RECV to TCP_CLOSE */
	__u64 bytes_sent;     /* payload the peer acknowledged (tcp_sock.bytes_acked less SYN, FIN) */
	__u64 bytes_received; /* payload received in order (tcp_sock.bytes_received less FIN) */
	__u64 cgroup_id;
	__u32 pid;            /* tgid of the owner; 0 when unknown (see flags) */
	__u32 tid;
	__s32 err;            /* sk->sk_err at TCP_CLOSE: ECONNREFUSED, ECONNRESET, ... or 0 */
	__u16 family;         /* AF_INET or AF_INET6 */
	__u16 lport;          /* host order */
	__u16 rport;
	__u8 flags;           /* enum tcplife_flags */
	__u8 oldstate;        /* the state it closed from (TCP_*) */
	__u8 pad[4];
	char comm[TASK_COMM_LEN];
	__u8 laddr[16];       /* IPv4: the first 4 bytes */
	__u8 raddr[16];
};

#endif
