// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpflow: what each TCP connection moved in the window and what held it.
 * tcp:tcp_probe runs on every segment an ESTABLISHED socket receives; the
 * first probe of a socket keeps its cumulative counters (bytes acked and
 * received, the kernel's chrono times of what limited its sending, its
 * retransmits), every later one the latest, so user space reads the window's
 * share as last - first: a bulk upload held by the network 97% of the time
 * at 1 MB/s is a path's capacity; one held by the receive window, a slow
 * reader. With RTT over the path's floor (tcp_sock.rtt_min): queueing, as
 * a sender's srtt sees it or a receiver's own estimate (rcv_rtt_est).
 * Softirq context: no owner here; user space finds it by the socket's inode. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "inet_sock_state.bpf.h"
#include "tcpflow.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* By socket address; LRU, so a churn of short connections ages out (user space may resize). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct tcpflow_value);
} flows SEC(".maps");

/* skaddr arrived in 6.x; without it there is no socket to read. */
struct trace_event_raw_tcp_probe___sherlock {
	const void *skaddr;
} __attribute__((preserve_access_index));

#define REREAD_NS 1000000ULL

static __always_inline void read_counters(struct tcp_sock *tp, struct tcpflow_counters *c, __u64 now)
{
	__u64 jiffies = bpf_jiffies64();
	/* The chrono running now adds its time since it began (tcp_jiffies32 is
	 * the low half of jiffies); a bitfield before 6.x (chrono_type:2), a byte since. */
	int running = BPF_CORE_READ_BITFIELD_PROBED(tp, chrono_type);
	__u32 since = running ? (__u32)jiffies - BPF_CORE_READ(tp, chrono_start) : 0;

	c->ts_ns = now;
	c->jiffies = jiffies;
	c->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	c->bytes_received = BPF_CORE_READ(tp, bytes_received);
	c->network_j = BPF_CORE_READ(tp, chrono_stat[TCP_CHRONO_BUSY - 1]) + (running == TCP_CHRONO_BUSY ? since : 0);
	c->rwnd_j = BPF_CORE_READ(tp, chrono_stat[TCP_CHRONO_RWND_LIMITED - 1]) + (running == TCP_CHRONO_RWND_LIMITED ? since : 0);
	c->sndbuf_j = BPF_CORE_READ(tp, chrono_stat[TCP_CHRONO_SNDBUF_LIMITED - 1]) + (running == TCP_CHRONO_SNDBUF_LIMITED ? since : 0);
	c->total_retrans = BPF_CORE_READ(tp, total_retrans);
}

static __always_inline __u32 inode_of(struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
}

/* A socket seen for the first time (or its memory reused by another): its counters now, its ends. */
static __always_inline void start_flow(struct trace_event_raw_tcp_probe *ctx, struct tcp_sock *tp, __u64 key, __u64 now)
{
	struct tcpflow_value fresh = {};
	struct sock_addrs a;

	read_counters(tp, &fresh.first, now);
	fresh.last = fresh.first;
	fresh.min_rtt_us = BPF_CORE_READ(tp, rtt_min.s[0].v);
	fresh.inode = inode_of((struct sock *)tp);
	read_sock_addrs((struct sock *)tp, &a);
	fresh.family = a.family;
	fresh.lport = a.sport;
	fresh.rport = a.dport;
	__builtin_memcpy(fresh.laddr, a.saddr, sizeof(fresh.laddr));
	__builtin_memcpy(fresh.raddr, a.daddr, sizeof(fresh.raddr));
	fresh.snd_cwnd = ctx->snd_cwnd;
	fresh.mss = BPF_CORE_READ(tp, mss_cache);
	fresh.snd_wnd = ctx->snd_wnd;
	if (bpf_map_update_elem(&flows, &key, &fresh, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
}

SHERLOCK_PROG("tracepoint/tcp/tcp_probe", tp_tcp_probe, struct trace_event_raw_tcp_probe *ctx)
{
	struct tcp_sock *tp;
	struct tcpflow_value *v;
	__u64 key, received, now = bpf_ktime_get_ns();
	__u32 min_rtt, rcv_rtt;

	if (!bpf_core_field_exists(((struct trace_event_raw_tcp_probe___sherlock *)ctx)->skaddr))
		return 0;
	tp = (struct tcp_sock *)((struct trace_event_raw_tcp_probe___sherlock *)ctx)->skaddr;
	if (!tp)
		return 0;
	key = (__u64)tp;
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v || v->lport != ctx->sport || v->rport != ctx->dport) {
		start_flow(ctx, tp, key, now);
		return 0;
	}
	/* A socket that only receives keeps its handshake's srtt: only sends' RTTs count. */
	if (ctx->snd_una != ctx->snd_nxt && ctx->srtt) {
		v->srtt_sum_us += ctx->srtt;
		v->srtt_samples++;
		if (ctx->srtt > v->srtt_max_us)
			v->srtt_max_us = ctx->srtt;
	}
	/* The counters at most once a millisecond: a storm's probes come microseconds apart,
	 * and a window's shares lose nothing at that grain. */
	if (now - v->last.ts_ns < REREAD_NS)
		return 0;
	/* Counters that went back: the memory of a freed socket, reused by one with the same ports. */
	if (BPF_CORE_READ(tp, bytes_acked) < v->last.bytes_acked) {
		start_flow(ctx, tp, key, now);
		return 0;
	}
	received = v->last.bytes_received;
	read_counters(tp, &v->last, now);
	rcv_rtt = BPF_CORE_READ(tp, rcv_rtt_est.rtt_us) >> 3;
	if (rcv_rtt && v->last.bytes_received > received) {
		v->rcv_rtt_sum_us += rcv_rtt;
		v->rcv_rtt_samples++;
	}
	min_rtt = BPF_CORE_READ(tp, rtt_min.s[0].v);
	if (min_rtt && (!v->min_rtt_us || min_rtt < v->min_rtt_us))
		v->min_rtt_us = min_rtt;
	if (!v->inode)
		v->inode = inode_of((struct sock *)tp);
	v->snd_cwnd = ctx->snd_cwnd;
	v->mss = BPF_CORE_READ(tp, mss_cache);
	v->snd_wnd = ctx->snd_wnd;
	return 0;
}
