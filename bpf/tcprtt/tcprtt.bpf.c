// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcprtt: the smoothed RTT (srtt) of TCP sockets as log2 histograms in
 * microseconds, per remote endpoint and overall. Sampled from tcp:tcp_probe,
 * which runs on every segment an ESTABLISHED socket receives and carries
 * srtt already divided down to microseconds (tp->srtt_us >> 3). It runs in
 * softirq context: with a process filter, the socket's owner decides
 * (tcp_owner.bpf.h, whose programs user space loads only then). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "histogram.bpf.h"
#include "tcp_owner.bpf.h"
#include "tcprtt.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile bool by_address = false;    /* group by remote address, without the port */
const volatile bool in_flight_only = true; /* only while the socket has unacknowledged data */

/* Sized by user space (param maxRemotes). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcprtt_key);
	__type(value, struct sherlock_hist);
} remotes SEC(".maps");

/* Every sample, also those past a full "remotes". */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sherlock_hist);
} overall SEC(".maps");

/* A zeroed histogram to seed "remotes" (too big for the stack with the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sherlock_hist);
} hist_zero SEC(".maps");

/* skaddr arrived in 6.x; without it there is no owner to filter on. */
struct trace_event_raw_tcp_probe___sherlock {
	const void *skaddr;
} __attribute__((preserve_access_index));

SHERLOCK_PROG("tracepoint/tcp/tcp_probe", tp_tcp_probe, struct trace_event_raw_tcp_probe *ctx)
{
	struct tcprtt_key key = {};
	struct sherlock_hist *hist;
	__u32 srtt = ctx->srtt, zero = 0;
	__u8 sa[28] = {};

	if (!srtt)
		return 0; /* no RTT measured yet */
	/* A socket that only receives keeps its handshake's srtt: one stale
	 * sample per segment would swamp the live ones. */
	if (in_flight_only && ctx->snd_una == ctx->snd_nxt)
		return 0;
	if (tcp_filtering()) {
		const void *sk = NULL;
		bool selected;

		if (bpf_core_field_exists(((struct trace_event_raw_tcp_probe___sherlock *)ctx)->skaddr))
			sk = ((struct trace_event_raw_tcp_probe___sherlock *)ctx)->skaddr;
		tcp_owner_of(sk, &selected);
		if (!selected)
			return 0;
	}

	hist = bpf_map_lookup_elem(&overall, &zero);
	if (hist)
		sherlock_hist_add(hist, srtt);

	/* daddr is a struct sockaddr_in or sockaddr_in6; family and dport
	 * (host order) have fields of their own. */
	key.family = ctx->family;
	key.port = by_address ? 0 : ctx->dport;
	bpf_probe_read_kernel(sa, sizeof(sa), ctx->daddr);
	if (key.family == TCP_AF_INET6)
		__builtin_memcpy(key.addr, &sa[8], 16);
	else
		__builtin_memcpy(key.addr, &sa[4], 4);

	hist = bpf_map_lookup_elem(&remotes, &key);
	if (!hist) {
		struct sherlock_hist *fresh = bpf_map_lookup_elem(&hist_zero, &zero);

		if (!fresh)
			return 0;
		hist = bpf_map_lookup_or_try_init(&remotes, &key, fresh);
		if (!hist) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			return 0;
		}
	}
	sherlock_hist_add(hist, srtt);
	return 0;
}
