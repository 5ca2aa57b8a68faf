// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpresponse: how long the other side of a TCP (or unix stream) conversation
 * took to answer.
 * A connection this host opened (a client of a database, a cache, an HTTP
 * API) is timed from its last send to the peer's first byte back: the
 * upstream's answer time, which the caller spends blocked in recv() or idle
 * in epoll, where no CPU or off-CPU capture can tell it from a quiet socket.
 * A connection accepted on a listener is timed the other way: from the
 * request's last byte in to this host's first byte out, the service's own
 * answer time.
 *
 * Per connection (hash "conns", by sock pointer), who spoke last and when:
 * - raw_tp/tcp_sendmsg_locked: a send, in the sender's own syscall (the
 *   standard filters apply there), before the data is queued, so a fast
 *   peer's answer cannot arrive before the send is seen. A connection is
 *   first remembered here; its role is its local port: a listener's (map
 *   "listeners", filled by user space per network namespace) or not.
 * - raw_tp/sk_data_ready: data readable on a socket (softirq, or the
 *   sender's context over loopback: never the owner's), one lookup for any
 *   socket that is not remembered. A bare FIN (EOF) is readable too, and
 *   is no turn.
 * - raw_tp/tcp_destroy_sock: the socket is freed; a client that closes it
 *   while still waiting gave the answer up (a timeout).
 * Unix stream sockets (a local database, a FastCGI pool) the same way, their
 * sends seen at raw_tp/sock_send_length (after the data is queued: a very
 * fast answer may come first, and that exchange goes untimed), their side
 * told by their name (an accepted socket shares its listener's), an entry of
 * a freed one found stale by its inode when its sock pointer comes back.
 * The first turn after a send ends the peer's; the first send after data
 * ends ours. Each timed answer goes into a histogram per side (map
 * "answers"), and one that took record_ns or more into the ring as well. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "histogram.bpf.h"
#include "inet_sock_state.bpf.h"
#include "tcpresponse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SHERLOCK_RECORD(tcpresponse_event);

/* include/linux/socket.h and errno-base.h; #defines, so absent from BTF. */
#define AF_UNIX 1
#define AF_INET 2
#define SOCK_STREAM 1
#define E2BIG 7
#define RCV_SHUTDOWN 1

/* Answers that took this long or more are also sent one by one (user space sets it). */
const volatile __u64 record_ns = 50000000;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space sizes it (param ringBufferMiB) */
} events SEC(".maps");

/* Sized by user space (param maxConnections). LRU: a unix socket's entry
 * goes only when its room is needed (no tracepoint sees it freed). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tcpresponse_conn);
} conns SEC(".maps");

/* Sized by user space (param maxSides). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcpresponse_key);
	__type(value, struct tcpresponse_stats);
} answers SEC(".maps");

/* Unix sockets' names, by the hash in their key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct tcpresponse_path);
} unix_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcpresponse_listener);
	__type(value, __u8);
} listeners SEC(".maps");

/* A zeroed row to seed "answers" (too big for the stack with the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcpresponse_stats);
} stats_zero SEC(".maps");

static __always_inline void send_record(struct tcpresponse_conn *c, __u64 end, __u64 wait, __u8 outcome)
{
	struct tcpresponse_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
		return;
	}
	e->end_ns = end;
	e->wait_ns = wait;
	e->cgroup_id = c->cgroup_id;
	e->key = c->key;
	e->tid = c->tid;
	e->outcome = outcome;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memcpy(e->comm, c->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* One answer that took `wait` ns, ending at `end`. */
static __always_inline void answered(struct tcpresponse_conn *c, __u64 end, __u64 wait)
{
	struct tcpresponse_stats *row = bpf_map_lookup_elem(&answers, &c->key);
	__u32 zero = 0;

	if (!row) {
		struct tcpresponse_stats *fresh = bpf_map_lookup_elem(&stats_zero, &zero);

		if (!fresh)
			return;
		fresh->cgroup_id = c->cgroup_id;
		__builtin_memcpy(fresh->comm, c->comm, sizeof(fresh->comm));
		row = bpf_map_lookup_or_try_init(&answers, &c->key, fresh);
		if (!row) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			return;
		}
	}
	sherlock_hist_add(&row->hist, wait / 1000);
	if (wait > row->max_ns)
		row->max_ns = wait; /* racy between CPUs; a lost maximum is also in the ring */
	if (wait >= record_ns)
		send_record(c, end, wait, TCPRESPONSE_ANSWERED);
}

/* A TCP connection's side: accepted on a listener (its local port is one in
 * its namespace), or opened by this host. */
static __always_inline bool tcp_side(const struct sock *sk, struct tcpresponse_conn *c)
{
	struct tcpresponse_listener listener = {};
	struct sock_addrs a;

	read_sock_addrs(sk, &a);
	if (a.family != AF_INET && a.family != SHERLOCK_AF_INET6)
		return false;
	listener.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	listener.port = a.sport;
	c->key.family = a.family;
	if (bpf_map_lookup_elem(&listeners, &listener)) {
		c->key.role = TCPRESPONSE_SERVER;
		c->key.port = a.sport;
	} else {
		c->key.role = TCPRESPONSE_CLIENT;
		c->key.port = a.dport;
		__builtin_memcpy(c->key.addr, a.daddr, sizeof(c->key.addr));
	}
	c->bytes_received = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	c->answered = c->bytes_received > 0;
	return true;
}

/* A unix socket's inode: a sock pointer the kernel reused belongs to a new one. */
static __always_inline __u64 unix_ino(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
}

/* A unix stream connection's side: an accepted one shares its listener's
 * name (a server's), a connecting one has none and its peer's names it (a
 * client's). Unnamed pairs (socketpair) are not followed. The name's hash
 * is its key; the name itself goes into "unix_paths" once. */
static __always_inline bool unix_side(const struct sock *sk, struct tcpresponse_conn *c)
{
	struct unix_address *own = BPF_CORE_READ((struct unix_sock *)sk, addr), *named = own;
	struct tcpresponse_path path = {};
	__u64 hash = 0xcbf29ce484222325ULL; /* FNV-1a */

	if (!named) {
		struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);

		if (peer)
			named = BPF_CORE_READ((struct unix_sock *)peer, addr);
	}
	if (!named)
		return false;
	/* unix_address.len counts the family's two bytes before sun_path. */
	path.len = BPF_CORE_READ(named, len) - 2;
	if (path.len > TCPRESPONSE_PATH_MAX)
		path.len = TCPRESPONSE_PATH_MAX;
	bpf_probe_read_kernel(path.path, sizeof(path.path), named->name[0].sun_path);
	for (int i = 0; i < TCPRESPONSE_PATH_MAX; i++) {
		if (i >= path.len)
			break;
		hash = (hash ^ (__u8)path.path[i]) * 0x100000001b3ULL;
	}
	bpf_map_update_elem(&unix_paths, &hash, &path, BPF_NOEXIST);
	c->key.family = AF_UNIX;
	c->key.role = own ? TCPRESPONSE_SERVER : TCPRESPONSE_CLIENT;
	__builtin_memcpy(c->key.addr, &hash, sizeof(hash));
	c->ino = unix_ino(sk);
	return true;
}

/* A connection seen sending for the first time: who owns it, and which side it is. */
static __always_inline void remember(const struct sock *sk, __u64 now, bool is_unix)
{
	struct tcpresponse_conn c = {};
	__u64 key = (__u64)sk, id;

	if (!sherlock_current_selected())
		return;
	if (!(is_unix ? unix_side(sk, &c) : tcp_side(sk, &c)))
		return;
	id = bpf_get_current_pid_tgid();
	c.key.tgid = id >> 32;
	c.tid = (__u32)id;
	c.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c.comm, sizeof(c.comm));
	c.last = TCPRESPONSE_SENT;
	c.last_send_ns = now;
	if (bpf_map_update_elem(&conns, &key, &c, BPF_ANY) == -E2BIG)
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
}

/* The connection of sk as followed, or NULL: a unix socket's entry left by
 * an older socket at the same address is dropped (unix sockets have no
 * destroy tracepoint to drop it then). */
static __always_inline struct tcpresponse_conn *conn_of(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct tcpresponse_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c && c->key.family == AF_UNIX && c->ino != unix_ino(sk)) {
		bpf_map_delete_elem(&conns, &key);
		return NULL;
	}
	return c;
}

/* A send on a connection, before (TCP) or after (unix) its data is queued. */
static __always_inline void sent(const struct sock *sk, bool is_unix)
{
	__u64 now = bpf_ktime_get_ns();
	struct tcpresponse_conn *c = conn_of(sk);

	if (!c) {
		remember(sk, now, is_unix);
		return;
	}
	if (c->last == TCPRESPONSE_RECEIVED) {
		/* Our turn ends: a server's answer begins (a client's next request). */
		c->tid = (__u32)bpf_get_current_pid_tgid();
		if (c->key.role == TCPRESPONSE_SERVER && c->last_recv_ns)
			answered(c, now, now - c->last_recv_ns);
		c->last = TCPRESPONSE_SENT;
	} else if (c->key.role == TCPRESPONSE_CLIENT) {
		c->tid = (__u32)bpf_get_current_pid_tgid();
	}
	c->last_send_ns = now;
}

SHERLOCK_RAW_PROG("raw_tp/tcp_sendmsg_locked", raw_tcp_sendmsg_locked, const struct sock *sk)
{
	sent(sk, false);
	return 0;
}

/* Every socket's sendmsg ends here (TCP's are seen above, before their data
 * leaves); for unix stream sockets this is the send. Loaded only when unix
 * sockets are followed. */
SHERLOCK_RAW_PROG("raw_tp/sock_send_length", raw_sock_send_length, struct sock *sk, int ret)
{
	if (ret > 0 && BPF_CORE_READ(sk, __sk_common.skc_family) == AF_UNIX && BPF_CORE_READ(sk, sk_type) == SOCK_STREAM)
		sent(sk, true);
	return 0;
}

SHERLOCK_RAW_PROG("raw_tp/sk_data_ready", raw_sk_data_ready, const struct sock *sk)
{
	struct tcpresponse_conn *c = conn_of(sk);
	__u64 now, received;
	__u8 fin;

	if (!c)
		return 0;
	if (c->key.family != AF_UNIX) {
		/* The peer's FIN makes the socket readable too (EOF), and counts one
		 * byte of sequence space: without data besides, no turn. (A unix
		 * peer's close is no data_ready.) */
		received = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
		fin = (BPF_CORE_READ(sk, sk_shutdown) & RCV_SHUTDOWN) && !c->fin;
		if (received - c->bytes_received <= fin) {
			c->bytes_received = received;
			c->fin |= fin;
			return 0;
		}
		c->bytes_received = received;
		c->fin |= fin;
	}
	now = bpf_ktime_get_ns();
	c->answered = 1;
	if (c->last == TCPRESPONSE_SENT) {
		/* The peer's turn ends: a client's answer came. */
		if (c->key.role == TCPRESPONSE_CLIENT)
			answered(c, now, now - c->last_send_ns);
		c->last = TCPRESPONSE_RECEIVED;
	}
	c->last_recv_ns = now;
	return 0;
}

/* The sock is freed after this: its address may be reused. */
SHERLOCK_RAW_PROG("raw_tp/tcp_destroy_sock", raw_tcp_destroy_sock, struct sock *sk)
{
	__u64 key = (__u64)sk, now;
	struct tcpresponse_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (!c)
		return 0;
	/* A client that gave up waiting: not a one-way stream (the peer has
	 * answered on it before) and waiting long enough to be more than a
	 * goodbye sent just before close (postgres' Terminate). */
	now = bpf_ktime_get_ns();
	if (c->key.role == TCPRESPONSE_CLIENT && c->last == TCPRESPONSE_SENT && c->answered &&
	    now - c->last_send_ns >= record_ns)
		send_record(c, now, now - c->last_send_ns, TCPRESPONSE_ABANDONED);
	bpf_map_delete_elem(&conns, &key);
	return 0;
}
