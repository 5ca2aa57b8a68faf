/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpflow: the map user space reads. Decoded by
 * src/captures/tcpflow/decode.ts; keep the two in step. */
#ifndef TCPFLOW_H
#define TCPFLOW_H

#include "../common/sherlock.h"

/* A connection's cumulative counters (struct tcp_sock) as one probe read them. */
struct tcpflow_counters {
	__u64 ts_ns;
	__u64 bytes_acked;    /* sent and acknowledged */
	__u64 bytes_received; /* received in order */
	__u64 jiffies;        /* the kernel's clock the chrono times count in */
	/* Time with data to send, split by what held it (tcp_sock.chrono_stat,
	 * the running one included; jiffies): the congestion window or pacing
	 * (the network), the peer's receive window, the send buffer. */
	__u32 network_j;
	__u32 rwnd_j;
	__u32 sndbuf_j;
	__u32 total_retrans;
};

/* One connection seen in the window (map "flows", by socket address). */
struct tcpflow_value {
	struct tcpflow_counters first;
	struct tcpflow_counters last;
	__u64 srtt_sum_us;  /* smoothed RTT while data was in flight, summed */
	__u32 srtt_samples;
	__u32 srtt_max_us;
	__u32 min_rtt_us;   /* the lowest tcp_sock.rtt_min seen: the path's floor */
	__u32 inode;        /* the socket's inode, for its owner (0 until accept() gives it one) */
	__u32 snd_cwnd;     /* at the last probe, in segments */
	__u32 mss;
	__u32 snd_wnd;      /* the peer's receive window at the last probe, bytes */
	__u16 family;       /* AF_INET or AF_INET6 */
	__u16 lport;        /* host order */
	__u16 rport;
	__u16 pad;
	__u8 laddr[16];     /* IPv4: the first 4 bytes */
	__u8 raddr[16];
	/* The receiver's own RTT estimate (tcp_sock.rcv_rtt_est) while data came in,
	 * read with the counters: a download's view of the queue on its way here. */
	__u32 rcv_rtt_samples;
	__u64 rcv_rtt_sum_us;
};

#endif
