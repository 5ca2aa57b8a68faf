// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpconnlat: how long active TCP opens take, SYN_SENT -> ESTABLISHED, as a
 * log2 histogram (microseconds) per destination, the slowest connects with
 * who made them, and the connects that failed (SYN_SENT -> CLOSE) by error.
 *
 * One tracepoint, sock:inet_sock_set_state, raw (inet_sock_state.bpf.h).
 *
 * Attribution: the ESTABLISHED (and CLOSE) transition often runs in softirq,
 * where the current task is whoever the CPU was running (swapper, ksoftirqd,
 * or an unrelated process). The SYN_SENT transition runs inside connect(),
 * in the caller's context: that is where the owner (pid, tid, comm, cgroup)
 * is taken and the standard filters applied, kept by socket address in the
 * bounded hash `connects` until the connect completes or fails. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "histogram.bpf.h"
#include "inet_sock_state.bpf.h"
#include "tcpconnlat.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* How many slowest connects to keep (per CPU; user space merges): 0..MAX. */
const volatile __u32 slowest_n = 20;

/* Who started a connect, and when: taken at SYN_SENT. */
struct connect_start {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	char comm[TASK_COMM_LEN];
};

/* Connects in flight, by socket address (user space may resize). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct connect_start);
} connects SEC(".maps");

/* Latency histogram (µs) per destination. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tcpconnlat_dest);
	__type(value, struct sherlock_hist);
} dest_hists SEC(".maps");

/* Failed connects per destination and error. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tcpconnlat_fail_key);
	__type(value, struct tcpconnlat_fail);
} failures SEC(".maps");

/* The slowest connects, per CPU.
 *
 * Why per-CPU top-N and not a ring buffer: a storm of 20k fast connects must
 * cost next to nothing. Each completed connect is compared once against the
 * fastest of this CPU's kept N (min_ns); only a slower one is written in
 * that slot, and then the N slots are scanned (bpf_loop) for the new fastest.
 * With latencies drawn at random that happens about N·ln(total/N) times in
 * all (~160 of 20k for N = 20), so the common path is one per-CPU lookup and
 * one compare, no atomics, no ring buffer record, nothing for user space to
 * drain. The N slowest overall are among the per-CPU lists (user space takes
 * the top N of their union), so the answer is exact, with no threshold to
 * guess. Runs on one CPU never interleave here: the kernel skips a raw
 * tracepoint program that would nest in itself on a CPU (prog->active). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcpconnlat_slowest);
} slowest SEC(".maps");

static __always_inline void set_dest(const struct sock_addrs *a, struct tcpconnlat_dest *dest)
{
	dest->family = a->family;
	dest->dport = a->dport;
	__builtin_memcpy(dest->daddr, a->daddr, sizeof(dest->daddr));
}

static __always_inline int on_syn_sent(struct sock *sk)
{
	__u64 id, key = (__u64)sk;
	struct connect_start start;

	if (!sherlock_current_selected())
		return 0;
	id = bpf_get_current_pid_tgid();
	start.ts_ns = bpf_ktime_get_ns();
	start.cgroup_id = bpf_get_current_cgroup_id();
	start.pid = id >> 32;
	start.tid = (__u32)id;
	bpf_get_current_comm(start.comm, sizeof(start.comm));
	if (bpf_map_update_elem(&connects, &key, &start, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
	return 0;
}

struct scan_state {
	struct tcpconnlat_slowest *top;
	__u64 min_ns;
	__u32 min_idx;
};

static long scan_slot(__u32 i, struct scan_state *st)
{
	__u64 ns;

	if (i >= TCPCONNLAT_SLOWEST_MAX)
		return 1;
	ns = st->top->e[i].latency_ns;
	if (ns < st->min_ns) {
		st->min_ns = ns;
		st->min_idx = i;
	}
	return 0;
}

static __always_inline void keep_if_slow(const struct sock_addrs *a, struct connect_start *start, __u64 latency_ns,
					 __u64 now)
{
	struct scan_state st = { .min_ns = ~0ULL };
	struct tcpconnlat_connect *e;
	__u32 zero = 0, idx, n = slowest_n;

	if (n == 0)
		return;
	if (n > TCPCONNLAT_SLOWEST_MAX)
		n = TCPCONNLAT_SLOWEST_MAX;
	st.top = bpf_map_lookup_elem(&slowest, &zero);
	if (!st.top || latency_ns <= st.top->min_ns)
		return; /* the common path */
	idx = st.top->min_idx;
	if (idx >= TCPCONNLAT_SLOWEST_MAX)
		return;
	e = &st.top->e[idx];
	e->latency_ns = latency_ns;
	e->ts_ns = now;
	e->cgroup_id = start->cgroup_id;
	e->pid = start->pid;
	e->tid = start->tid;
	__builtin_memcpy(e->comm, start->comm, sizeof(e->comm));
	e->family = a->family;
	e->sport = a->sport;
	e->dport = a->dport;
	__builtin_memcpy(e->saddr, a->saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, a->daddr, sizeof(e->daddr));
	bpf_loop(n, scan_slot, &st, 0);
	st.top->min_ns = st.min_ns;
	st.top->min_idx = st.min_idx;
}

static __always_inline void on_established(struct sock *sk, struct connect_start *start, __u64 now)
{
	struct tcpconnlat_dest dest = {};
	struct sherlock_hist *hist;
	struct sock_addrs a;
	__u64 latency_ns = now - start->ts_ns;

	read_sock_addrs(sk, &a);
	set_dest(&a, &dest);
	hist = bpf_map_lookup_elem(&dest_hists, &dest);
	if (!hist) {
		struct sherlock_hist zero = {}; /* zeroed only on a miss */

		hist = bpf_map_lookup_or_try_init(&dest_hists, &dest, &zero);
		if (!hist)
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
	}
	if (hist)
		sherlock_hist_add(hist, latency_ns / 1000);
	keep_if_slow(&a, start, latency_ns, now);
}

static __always_inline void on_failed(struct sock *sk, struct connect_start *start)
{
	struct tcpconnlat_fail_key key = {};
	struct tcpconnlat_fail *fail, zero = {};
	struct sock_addrs a;

	read_sock_addrs(sk, &a);
	set_dest(&a, &key.dest);
	/* Set before the state change by tcp_reset (ECONNREFUSED), the
	 * retransmit timer (ETIMEDOUT) and ICMP errors (EHOSTUNREACH, ...);
	 * 0 when the owner closed the socket while it was connecting. */
	key.err = BPF_CORE_READ(sk, sk_err);
	fail = bpf_map_lookup_or_try_init(&failures, &key, &zero);
	if (!fail) {
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&fail->count, 1);
	fail->pid = start->pid;
	__builtin_memcpy(fail->comm, start->comm, sizeof(fail->comm));
}

SHERLOCK_CHAINED_RAW_PROG(INET_SOCK_SET_STATE, tp_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	struct connect_start *start;
	__u64 key, now;

	/* Most transitions are none of ours: leave at once. */
	if (newstate != TCP_SYN_SENT && oldstate != TCP_SYN_SENT)
		return 0;
	if (!sock_is_tcp(sk))
		return 0;
	if (newstate == TCP_SYN_SENT)
		return on_syn_sent(sk);

	/* The kernel skips a run that would nest in this program on the same
	 * CPU (a softirq interrupting it; counted in the program's recursion_misses, which user space
	 * reports). A connect whose ESTABLISHED was skipped so keeps its
	 * entry until its socket's memory is reused by a later connect, whose
	 * SYN_SENT overwrites it: not worth a lookup on every transition. */
	key = (__u64)sk;
	start = bpf_map_lookup_elem(&connects, &key);
	if (!start)
		return 0; /* not selected, or started before the capture */
	/* Read everything before the delete frees the entry for reuse. */
	now = bpf_ktime_get_ns();
	if (newstate == TCP_ESTABLISHED)
		on_established(sk, start, now);
	else if (newstate == TCP_CLOSE)
		on_failed(sk, start);
	/* SYN_SENT -> SYN_RECV (simultaneous open) is not measured. */
	bpf_map_delete_elem(&connects, &key);
	return 0;
}
