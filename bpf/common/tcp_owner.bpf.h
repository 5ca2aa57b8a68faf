/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Who owns a TCP socket, for events that do not run in the owner's context.
 * Shared by tcpretrans, tcpreset and tcprtt (each object has its own copy).
 *
 * Retransmits, resets and RTT samples run in timer or softirq context, where
 * the current task is swapper, ksoftirqd or whatever process the interrupt
 * landed on. The owner is remembered, keyed by the sock pointer, at points
 * that run in the owner's own syscall by construction, so no interrupt-
 * context test is needed:
 *   - sock:inet_sock_set_state into SYN_SENT (connect(), or a TFO sendmsg)
 *     and into LISTEN (listen());
 *   - sock:sock_send_length and sock:sock_recv_length (sock_sendmsg and
 *     sock_recvmsg: send/write/sendfile/splice, recv/read), for sockets
 *     that existed before the capture and for accepted sockets;
 *   - syscalls:sys_enter_accept/accept4, for listeners older than the capture.
 * Not tcp:tcp_sendmsg_locked: its record holds no sock pointer. Not
 * inet_sock_set_state into ESTABLISHED: an active open completes in softirq
 * (on the SYN-ACK), where current is not the owner. Not a syscall tracepoint
 * with fd -> sock: a file-table walk on every call. The two length
 * tracepoints cost one hash lookup per send or receive on a TCP socket (the
 * owner is rewritten only when another process uses it); other families
 * return after two compares.
 * Known gap: a socket that predates the capture and is not used inside it
 * has no owner (its events are unattributed, and left out by any filter).
 *
 * Only selected owners are remembered (the standard filters, checked on the
 * current task, which is the owner there), so the map holds only sockets
 * of the target. Entries go when the kernel destroys the socket. */
#ifndef TCP_OWNER_BPF_H
#define TCP_OWNER_BPF_H

#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "fd_socket.bpf.h"
#include "inet_sock_state.bpf.h"

/* include/linux/socket.h; #defines, so absent from BTF. */
#define TCP_AF_INET 2
#define TCP_AF_INET6 10

struct tcp_owner {
	__u32 tgid;
	__u32 closed_from; /* the state the socket left for CLOSE; 0 while open */
	__u64 cgroup_id;
	char comm[TASK_COMM_LEN];
};

/* By sock pointer. Sized by user space (param maxSockets). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tcp_owner);
} tcp_owners SEC(".maps");

/* Is any standard filter set? Then an event without a known owner is left out. */
static __always_inline bool tcp_filtering(void)
{
	return filter_by_tgid || filter_cgroup_id || filter_uid != (__u32)-1 || filter_comm[0];
}

/* The owner of sk, or NULL when unknown. *selected tells whether the event
 * passes the filters: by the owner's tgid and cgroup when it is known (it
 * passed them all when remembered); only when nothing filters otherwise. */
static __always_inline struct tcp_owner *tcp_owner_of(const void *sk, bool *selected)
{
	__u64 key = (__u64)sk;
	struct tcp_owner *owner = sk ? bpf_map_lookup_elem(&tcp_owners, &key) : NULL;

	if (!owner) {
		*selected = !tcp_filtering();
		return NULL;
	}
	*selected = sherlock_tgid_selected(owner->tgid) &&
		    (!filter_cgroup_id || owner->cgroup_id == filter_cgroup_id) &&
		    !sherlock_cgroup_excluded(owner->cgroup_id);
	return owner;
}

/* Call only where the current task is the socket's owner (see above). */
static __always_inline void tcp_owner_remember(const void *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 key = (__u64)sk;
	struct tcp_owner *known, owner = {};

	known = bpf_map_lookup_elem(&tcp_owners, &key);
	if (known && known->tgid == tgid)
		return; /* the common case: one more send by the same process */
	if (!sherlock_current_selected())
		return;
	owner.tgid = tgid;
	owner.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(owner.comm, sizeof(owner.comm));
	if (bpf_map_update_elem(&tcp_owners, &key, &owner, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL); /* its events go unattributed */
}

SHERLOCK_CHAINED_RAW_PROG(INET_SOCK_SET_STATE, tp_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN) {
		if (sock_is_tcp(sk))
			tcp_owner_remember(sk);
	} else if (newstate == TCP_CLOSE) {
		/* An abortive close sets CLOSE before it sends the reset: keep
		 * the state it was in for tcpreset. Only TCP sockets are in the
		 * map: no protocol check. */
		__u64 key = (__u64)sk;
		struct tcp_owner *owner = bpf_map_lookup_elem(&tcp_owners, &key);

		if (owner)
			owner->closed_from = oldstate;
	}
	return 0;
}

static __always_inline void tcp_owner_used(struct trace_event_raw_sock_msg_length *ctx)
{
	__u16 family = ctx->family;

	if ((family != TCP_AF_INET && family != TCP_AF_INET6) || ctx->protocol != IPPROTO_TCP)
		return;
	tcp_owner_remember(ctx->sk);
}

SHERLOCK_PROG("tracepoint/sock/sock_send_length", tp_sock_send_length, struct trace_event_raw_sock_msg_length *ctx)
{
	tcp_owner_used(ctx);
	return 0;
}

SHERLOCK_PROG("tracepoint/sock/sock_recv_length", tp_sock_recv_length, struct trace_event_raw_sock_msg_length *ctx)
{
	tcp_owner_used(ctx);
	return 0;
}

/* accept(fd) and accept4(fd): fd is a listener, and the caller its owner.
 * A listener never sends or receives, so a listener older than the capture
 * would otherwise stay unknown (its SYN-ACK retransmits and resets with
 * it). One fd-table walk per accept call. */
#define TCP_SOCK_STREAM 1

static __always_inline void tcp_owner_accepting(long fd)
{
	struct socket *sock = socket_of_fd(fd);
	struct sock *sk;
	__u16 family;

	if (!sock || BPF_CORE_READ(sock, type) != TCP_SOCK_STREAM)
		return;
	sk = BPF_CORE_READ(sock, sk);
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (sk && (family == TCP_AF_INET || family == TCP_AF_INET6))
		tcp_owner_remember(sk);
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_accept", tp_sys_enter_accept, struct trace_event_raw_sys_enter *ctx)
{
	tcp_owner_accepting(ctx->args[0]);
	return 0;
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_accept4", tp_sys_enter_accept4, struct trace_event_raw_sys_enter *ctx)
{
	tcp_owner_accepting(ctx->args[0]);
	return 0;
}

/* The sock is freed after this: its address may be reused. */
SHERLOCK_PROG("tracepoint/tcp/tcp_destroy_sock", tp_tcp_destroy_sock, struct trace_event_raw_tcp_event_sk *ctx)
{
	__u64 key = (__u64)ctx->skaddr;

	bpf_map_delete_elem(&tcp_owners, &key);
	return 0;
}

/* A flow's row in the hash `map`, whose value type has first_ns, cgroup_id
 * and comm: looked up, or made on first use (first_ns = now, the owner's
 * cgroup and comm when known). NULL when the map is full (counted). A macro
 * because each capture's value type differs around those fields. */
#define tcp_flow_row(map, key, owner, now)                                             \
	({                                                                             \
		__typeof__(*(map).value) __fresh = {}, *__row;                         \
		__row = bpf_map_lookup_elem(&(map), key);                              \
		if (!__row) {                                                          \
			__fresh.first_ns = (now);                                      \
			if (owner) {                                                   \
				__fresh.cgroup_id = (owner)->cgroup_id;                \
				__builtin_memcpy(__fresh.comm, (owner)->comm, sizeof(__fresh.comm)); \
			}                                                              \
			__row = bpf_map_lookup_or_try_init(&(map), key, &__fresh);     \
			if (!__row)                                                    \
				sherlock_count(SHERLOCK_DROP_MAP_FULL);                \
		}                                                                      \
		__row;                                                                 \
	})

/* Copies an address from a tracepoint's fixed fields into a 16-byte slot:
 * IPv4 into the first 4 bytes. */
static __always_inline void tcp_copy_addr(__u8 *dst, __u16 family, const __u8 *v4, const __u8 *v6)
{
	if (family == TCP_AF_INET6)
		bpf_probe_read_kernel(dst, 16, v6);
	else
		bpf_probe_read_kernel(dst, 4, v4);
}

#endif
