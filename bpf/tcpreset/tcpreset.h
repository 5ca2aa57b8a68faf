/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpreset: the map user space reads. Decoded by
 * src/captures/tcpreset/decode.ts; keep the two in step. */
#ifndef TCPRESET_H
#define TCPRESET_H

#include "../common/sherlock.h"

enum tcpreset_direction {
	TCPRESET_SENT = 1,     /* tcp:tcp_send_reset: this host sent the RST */
	TCPRESET_RECEIVED = 2, /* tcp:tcp_receive_reset: a socket here took one */
};

/* No reason recorded (a received reset, or a kernel without the field). */
#define TCPRESET_NO_REASON 0xffff

/* Key of the map "resets": one row per flow, direction, state and owner. */
struct tcpreset_key {
	__u8 saddr[16];   /* local (this host's end); IPv4 in the first 4 bytes */
	__u8 daddr[16];   /* remote */
	__u16 sport;      /* host order */
	__u16 dport;
	__u16 family;     /* AF_INET, AF_INET6; 0 when the kernel gave no address */
	__u8 direction;   /* enum tcpreset_direction */
	__u8 state;       /* the socket's TCP state; 0: no socket */
	__u8 closed_from; /* state == CLOSE: the state it left (abortive close), if known */
	__u8 full_socket; /* skaddr pointed at a full socket (not none, request or timewait) */
	__u16 reason;     /* enum sk_rst_reason of a sent reset, or TCPRESET_NO_REASON */
	__u32 tgid;       /* the socket's owner; 0 when unknown */
};

struct tcpreset_value {
	__u64 count;
	__u64 first_ns;   /* bpf_ktime_get_ns() of the first and last */
	__u64 last_ns;
	__u64 cgroup_id;  /* the owner's */
	char comm[TASK_COMM_LEN]; /* the owner's; empty when unknown */
};

#endif
