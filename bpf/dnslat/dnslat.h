/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* dnslat: the record user space reads from the ring buffer "events": one DNS
 * message over UDP, a query leaving this host or a response arriving, with
 * the start of the message (header and question). Decoded by
 * src/captures/dnslat/decode.ts; keep the two in step. */
#ifndef DNSLAT_H
#define DNSLAT_H

#include "../common/sherlock.h"

/* The header (12 bytes) and a question whose name is up to 240 bytes (a power
 * of two, so the program's read can be bounded by a mask). */
#define DNSLAT_PAYLOAD 256

enum dnslat_direction {
	DNSLAT_QUERY = 1,    /* sent from this host to the DNS port */
	DNSLAT_RESPONSE = 2, /* received on this host from the DNS port */
};

struct dnslat_event {
	__u64 ts_ns;          /* bpf_ktime_get_ns() */
	__u64 cgroup_id;      /* queries: the sender's cgroup v2 id */
	__u32 pid;            /* queries: the sender (tgid); 0 for responses */
	__u32 tid;
	__u8 saddr[16];       /* IPv4: the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;          /* host order */
	__u16 dport;
	__u16 family;         /* AF_INET or AF_INET6 */
	__u16 length;         /* the DNS message's bytes (the UDP payload) */
	__u16 captured;       /* of them in payload */
	__u8 direction;       /* enum dnslat_direction */
	__u8 pad[5];
	char comm[TASK_COMM_LEN];
	__u8 payload[DNSLAT_PAYLOAD];
};

#endif
