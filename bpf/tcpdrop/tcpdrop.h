/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpdrop: what crosses to user space. Decoded by
 * src/captures/tcpdrop/decode.ts; keep the two in step. */
#ifndef TCPDROP_H
#define TCPDROP_H

#include "../common/sherlock.h"

/* Key of "drops": one kind of drop. Addresses and ports come from the
 * packet's headers (0 when it has none the kernel had parsed); the socket
 * fields from the socket the kernel had matched it to (0 without one). */
struct drop_key {
	__u32 reason;    /* enum skb_drop_reason; names from the kernel's BTF */
	__u16 family;    /* AF_INET / AF_INET6 of the packet (or the socket), 0 unknown */
	__u8 protocol;   /* IPPROTO_* of the packet (or the socket) */
	__u8 sk_state;   /* TCP state of the socket, 0 without one */
	__u16 sport;     /* packet ports, host order: only the lower (the service's) is kept, the */
	__u16 dport;     /* other (ephemeral) is 0, so a storm of connections is one row */
	__u16 sk_port;   /* the socket's local port */
	__u16 pad;
	__u32 pad2;
	__u8 saddr[16];  /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u64 sk_inode;  /* the socket's inode (owner found by it in user space), 0 unknown */
	__u64 location;  /* the kernel function that dropped it (return address) */
};

struct drop_value {
	__u64 count;
	__u64 bytes;
	__u64 first_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 last_ns;
	__u32 max_ack_backlog; /* listener: its backlog (sk_max_ack_backlog) */
	__u32 ack_backlog;     /* listener: its accept queue at the last drop */
};

/* Value of "listeners", by socket inode: what sock:sk_data_ready saw of a
 * listener when a connection joined its accept queue. /proc/net/tcp shows
 * a listener's queue but not its backlog; this gives the backlog. */
struct listener_seen {
	__u32 max_ack_backlog;
	__u32 max_queue;  /* longest accept queue seen */
	__u16 port;
	__u16 pad;
	__u32 pad2;
};

#endif
