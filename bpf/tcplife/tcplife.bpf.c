// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcplife: one record per TCP connection that closes inside the window, with
 * its owner, endpoints, duration and bytes each way (tcp_sock.bytes_acked,
 * tcp_sock.bytes_received, read with CO-RE at the transition to TCP_CLOSE).
 * Records are laid out in tcplife.h.
 *
 * One tracepoint, sock:inet_sock_set_state, raw (inet_sock_state.bpf.h). A connection is tracked
 * from the first state change that opens it, by socket address, in the
 * bounded hash `conns`; connections opened before the capture are not
 * reported (their start and owner were not seen).
 *
 * Who owns a connection:
 * - Active opens (connect()): the task entering SYN_SENT, which runs inside
 *   connect() in the caller's context. The standard filters apply there.
 * - Passive opens (accepted): the child socket enters SYN_RECV and then
 *   ESTABLISHED in softirq, when the handshake's last ACK arrives: the
 *   current task is whoever the CPU was running (on loopback, the client!),
 *   and the socket has no struct socket or file yet (accept() grafts them
 *   later), so no owner can be read then. The owner is taken instead from
 *   the first transition that only runs inside the owner's own syscall:
 *   ESTABLISHED -> FIN_WAIT1 and CLOSE_WAIT -> LAST_ACK (close() or
 *   shutdown(): tcp_close_state), and -> CLOSE while inet_release() has
 *   already cut sock->sk (close() of the last descriptor: an abortive close,
 *   unread data or SO_LINGER 0). A passive connection that ends without any
 *   of those (reset by the peer, or its listener closed before accept())
 *   keeps pid 0 and TCPLIFE_OWNER_UNKNOWN. The standard filters apply when
 *   the owner is known; one whose owner stays unknown is reported only when
 *   no filter is set. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "inet_sock_state.bpf.h"
#include "tcplife.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SHERLOCK_RECORD(tcplife_event);


struct conn {
	__u64 start_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 flags;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space may resize before load */
} events SEC(".maps");

/* Open connections, by socket address (user space may resize). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

static __always_inline bool any_filter(void)
{
	return filter_by_tgid || filter_cgroup_id || filter_uid != (__u32)-1 || filter_comm[0];
}

static __always_inline void set_owner(struct conn *c)
{
	__u64 id = bpf_get_current_pid_tgid();

	c->pid = id >> 32;
	c->tid = (__u32)id;
	c->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

/* Does this transition run inside a syscall of the socket's owner? */
static __always_inline bool in_owner_syscall(struct sock *sk, int newstate)
{
	struct socket *sock;

	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK)
		return true; /* tcp_close_state(): close() or shutdown() */
	if (newstate != TCP_CLOSE)
		return false;
	/* inet_release() clears sock->sk before tcp_close(); softirq and
	 * timers see either no socket (orphaned) or sock->sk == sk. */
	sock = BPF_CORE_READ(sk, sk_socket);
	return sock && !BPF_CORE_READ(sock, sk);
}

/* bytes_acked and bytes_received count sequence space, so they include
 * the control flags that take a sequence number: our SYN once acked (active
 * opens; a passive child starts past it), our FIN once acked, the peer's FIN
 * once received in order. Take those out to leave the payload. */
static __always_inline __u64 payload_sent(struct tcp_sock *tp, struct conn *c, int oldstate)
{
	__u64 acked = BPF_CORE_READ(tp, bytes_acked);
	__u64 flags = 0;

	if ((c->flags & TCPLIFE_ACTIVE) && (c->flags & TCPLIFE_ESTABLISHED))
		flags++;
	/* A FIN was sent in these states (tcp_close_state); tcp_send_fin
	 * counted it in write_seq, so all acked means it was too. */
	if ((oldstate == TCP_FIN_WAIT1 || oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSING ||
	     oldstate == TCP_LAST_ACK) &&
	    BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		flags++;
	return acked > flags ? acked - flags : 0;
}

static __always_inline __u64 payload_received(struct tcp_sock *tp)
{
	__u64 received = BPF_CORE_READ(tp, bytes_received);
	unsigned long sk_flags = BPF_CORE_READ((struct sock *)tp, __sk_common.skc_flags);

	/* SOCK_DONE: tcp_fin() took the peer's FIN, in order. */
	if ((sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) && received)
		received--;
	return received;
}

static __always_inline void emit(struct sock *sk, struct conn *c, int oldstate)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct tcplife_event *e;
	__u64 now = bpf_ktime_get_ns();
	struct sock_addrs a;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
		return;
	}
	e->ts_ns = now;
	e->duration_ns = now - c->start_ns;
	e->bytes_sent = payload_sent(tp, c, oldstate);
	e->bytes_received = payload_received(tp);
	e->err = BPF_CORE_READ((struct sock *)tp, sk_err);
	e->cgroup_id = c->cgroup_id;
	e->pid = c->pid;
	e->tid = c->tid;
	read_sock_addrs(sk, &a);
	e->family = a.family;
	e->lport = a.sport;
	e->rport = a.dport;
	e->flags = c->flags;
	e->oldstate = oldstate;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memcpy(e->comm, c->comm, sizeof(e->comm));
	__builtin_memcpy(e->laddr, a.saddr, sizeof(e->laddr));
	__builtin_memcpy(e->raddr, a.daddr, sizeof(e->raddr));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

SHERLOCK_CHAINED_RAW_PROG(INET_SOCK_SET_STATE, tp_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	struct conn *c;

	/* Other protocols' sockets never enter conns: only the opens check. */
	if (newstate == TCP_SYN_SENT) {
		struct conn start = { .flags = TCPLIFE_ACTIVE };

		if (!sock_is_tcp(sk) || !sherlock_current_selected())
			return 0;
		start.start_ns = bpf_ktime_get_ns();
		set_owner(&start);
		if (bpf_map_update_elem(&conns, &key, &start, BPF_ANY))
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return 0;
	}
	if (newstate == TCP_SYN_RECV && oldstate == TCP_LISTEN) {
		/* A child of a listener, in softirq: no owner to read yet. */
		struct conn start = { .flags = TCPLIFE_PASSIVE | TCPLIFE_OWNER_UNKNOWN };

		if (!sock_is_tcp(sk))
			return 0;
		start.start_ns = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&conns, &key, &start, BPF_ANY))
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return 0;
	}
	/* The rest matter only where an owner may be named, or at the end:
	 * ESTABLISHED is told by the state it closes from (below). */
	if (newstate != TCP_CLOSE && newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK)
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	if ((c->flags & TCPLIFE_OWNER_UNKNOWN) && in_owner_syscall(sk, newstate)) {
		if (!sherlock_current_selected()) {
			bpf_map_delete_elem(&conns, &key);
			return 0;
		}
		set_owner(c);
		c->flags &= ~TCPLIFE_OWNER_UNKNOWN;
	}
	if (newstate != TCP_CLOSE)
		return 0;
	/* Any state but these is past the handshake. Inferred here rather
	 * than at the ESTABLISHED transition: one lookup less per connection,
	 * and right even when the kernel skipped that run (a softirq nested
	 * in this program on the CPU: recursion_misses). */
	if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV)
		c->flags |= TCPLIFE_ESTABLISHED;
	if (!(c->flags & TCPLIFE_OWNER_UNKNOWN) || !any_filter())
		emit(sk, c, oldstate);
	bpf_map_delete_elem(&conns, &key);
	return 0;
}
