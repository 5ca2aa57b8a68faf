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
 * "answers"), and one that took record_ns or more into the ring as well.
 *
 * Nagle's algorithm: a TCP write that leaves less than a segment queued while
 * an earlier small segment is unacknowledged (TCP_NODELAY off) is held until
 * that ACK comes; a peer that delays its ACKs (40 ms or more) until it has
 * the rest of a request holds the whole exchange up. Such a write is seen in
 * tcp_sendmsg_locked; raw_tp/tcp_probe (each segment received) sees the ACK
 * that lets it go, and the hold's length goes to the side's row. */
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
#define MSG_MORE 0x8000

/* tcp_probe looks for ACKs only this long after the last write held (it runs
 * for every segment the host receives): 10 s at HZ 1000, longer at a lower
 * HZ. (jiffies: the coarse clock is no helper tracing programs may call.) */
#define HOLD_WATCH_JIFFIES 10000

/* When a write was last held (jiffies), on any connection. */
__u64 last_hold_jiffies = 0;

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

/* The row of c's side, created on first use; NULL when "answers" is full. */
static __always_inline struct tcpresponse_stats *row_of(struct tcpresponse_conn *c)
{
	struct tcpresponse_stats *row = bpf_map_lookup_elem(&answers, &c->key), *fresh;
	__u32 zero = 0;

	if (row)
		return row;
	fresh = bpf_map_lookup_elem(&stats_zero, &zero);
	if (!fresh)
		return NULL;
	fresh->cgroup_id = c->cgroup_id;
	__builtin_memcpy(fresh->comm, c->comm, sizeof(fresh->comm));
	row = bpf_map_lookup_or_try_init(&answers, &c->key, fresh);
	if (!row)
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
	return row;
}

/* One answer that took `wait` ns, ending at `end`. */
static __always_inline void answered(struct tcpresponse_conn *c, __u64 end, __u64 wait)
{
	struct tcpresponse_stats *row = row_of(c);

	if (!row)
		return;
	sherlock_hist_add(&row->hist, wait / 1000);
	if (wait > row->max_ns)
		row->max_ns = wait; /* racy between CPUs; a lost maximum is also in the ring */
	if (wait >= record_ns)
		send_record(c, end, wait, TCPRESPONSE_ANSWERED);
}

/* Nagle's algorithm will hold this write's tail (tcp_nagle_check at the
 * push that ends tcp_sendmsg_locked): TCP_NODELAY, a cork and MSG_MORE off,
 * less than a segment queued after it, and the last small segment sent not
 * yet acknowledged (Minshall's rule). small_end: that segment's end. `tail`
 * is the write queue's last skb (unsent data), `left` what the write has
 * still to queue; the tracepoint fires once per skb the write fills, the
 * last time with what makes the queue's tail. */
static __always_inline bool nagle_holds(const struct sock *sk, const struct msghdr *msg, const struct sk_buff *tail,
					int size_goal, __u32 *small_end)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 queued = 0, sml, tail_len;
	__u64 left;

	if (BPF_CORE_READ_BITFIELD_PROBED(tp, nonagle) || (BPF_CORE_READ(msg, msg_flags) & MSG_MORE) ||
	    !BPF_CORE_READ(tp, packets_out))
		return false;
	sml = BPF_CORE_READ(tp, snd_sml);
	if ((__s32)(sml - BPF_CORE_READ(tp, snd_una)) <= 0 || (__s32)(sml - BPF_CORE_READ(tp, snd_nxt)) > 0)
		return false;
	if (tail) {
		tail_len = BPF_CORE_READ(tail, len);
		if ((__s32)tail_len < size_goal)
			queued = tail_len;
	}
	left = BPF_CORE_READ(msg, msg_iter.count);
	*small_end = sml;
	return queued + left < BPF_CORE_READ(tp, mss_cache);
}

/* A held write went out (its ACK came, or later writes filled a segment): how long it waited. */
static __always_inline void hold_ended(struct tcpresponse_conn *c, __u64 now)
{
	struct tcpresponse_stats *row = row_of(c);
	__u64 held = now - c->held_since_ns;

	c->held_since_ns = 0;
	if (!row)
		return;
	__sync_fetch_and_add(&row->held, 1);
	__sync_fetch_and_add(&row->held_ns, held);
	if (held > row->held_max_ns)
		row->held_max_ns = held;
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

/* The process sending on c (current) owns it. */
static __always_inline void own(struct tcpresponse_conn *c)
{
	__u64 id = bpf_get_current_pid_tgid();

	c->key.tgid = id >> 32;
	c->tid = (__u32)id;
	c->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

/* A connection seen sending for the first time: who owns it, and which side it is. */
static __always_inline void remember(const struct sock *sk, __u64 now, bool is_unix, bool held, __u32 small_end)
{
	struct tcpresponse_conn c = {};
	__u64 key = (__u64)sk;

	if (!sherlock_current_selected())
		return;
	if (!(is_unix ? unix_side(sk, &c) : tcp_side(sk, &c)))
		return;
	own(&c);
	c.last = TCPRESPONSE_SENT;
	c.last_send_ns = now;
	if (held) {
		c.held_since_ns = now;
		c.held_seq = small_end;
	}
	if (bpf_map_update_elem(&conns, &key, &c, BPF_ANY) == -E2BIG)
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
}

/* A request on an accepted connection not followed yet: its first, or the
 * first since the capture began. Remembered now, from the peer's context (the
 * softirq, or the sender's over loopback), with no owner (tgid 0): the
 * process that answers it owns it (and is filtered) at its first send, so a
 * server's first answer on a connection is timed too (a client that opens
 * one per request: HTTP/1.0, Connection: close, nginx's default upstream).
 * The answer's time starts when the request arrived, before the accept. */
static __always_inline void request_arrived(const struct sock *sk, __u64 now)
{
	struct tcpresponse_conn c = {};
	__u64 key = (__u64)sk;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return;
	if (family == AF_UNIX) {
		/* Only an accepted socket has its own name (its listener's). */
		if (!BPF_CORE_READ((struct unix_sock *)sk, addr) || !unix_side(sk, &c))
			return;
	} else {
		if (!sock_is_tcp(sk) || !tcp_side(sk, &c) || c.key.role != TCPRESPONSE_SERVER)
			return;
		/* A bare FIN (the client left at once) is no request. */
		c.fin = (BPF_CORE_READ(sk, sk_shutdown) & RCV_SHUTDOWN) != 0;
		if (c.bytes_received <= c.fin)
			return;
	}
	c.answered = 1;
	c.last = TCPRESPONSE_RECEIVED;
	c.last_recv_ns = now;
	if (bpf_map_update_elem(&conns, &key, &c, BPF_NOEXIST) == -E2BIG)
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

/* A send on a connection, before (TCP) or after (unix) its data is queued;
 * held: Nagle's algorithm holds its tail until small_end is acknowledged. */
static __always_inline void sent(const struct sock *sk, bool is_unix, bool held, __u32 small_end)
{
	__u64 now = bpf_ktime_get_ns();
	struct tcpresponse_conn *c = conn_of(sk);

	if (held)
		last_hold_jiffies = bpf_jiffies64();
	if (!c) {
		remember(sk, now, is_unix, held, small_end);
		return;
	}
	if (c->ignored)
		return;
	if (!c->key.tgid) {
		/* Its owner's first send (request_arrived): a process the filters leave out is ignored from now on. */
		if (!sherlock_current_selected()) {
			c->ignored = 1;
			return;
		}
		own(c);
	}
	if (held && !c->held_since_ns) {
		c->held_since_ns = now;
		c->held_seq = small_end;
	} else if (!held && c->held_since_ns) {
		hold_ended(c, now);
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

SHERLOCK_RAW_PROG("raw_tp/tcp_sendmsg_locked", raw_tcp_sendmsg_locked, const struct sock *sk, const struct msghdr *msg,
		  const struct sk_buff *tail, int size_goal)
{
	__u32 small_end = 0;
	bool held = nagle_holds(sk, msg, tail, size_goal, &small_end);

	sent(sk, false, held, small_end);
	return 0;
}

/* A segment received on an established TCP connection, before its ACK is
 * processed: one that acknowledges the small segment a held write waits for
 * lets that write go. Looked at only while writes are being held. */
SHERLOCK_RAW_PROG("raw_tp/tcp_probe", raw_tcp_probe, const struct sock *sk, const struct sk_buff *skb)
{
	struct tcpresponse_conn *c;
	const struct tcp_skb_cb *cb;
	__u64 key = (__u64)sk, since = last_hold_jiffies;

	if (!since || bpf_jiffies64() - since > HOLD_WATCH_JIFFIES)
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c || !c->held_since_ns)
		return 0;
	cb = (const void *)skb + bpf_core_field_offset(struct sk_buff, cb);
	if ((__s32)(BPF_CORE_READ(cb, ack_seq) - c->held_seq) >= 0)
		hold_ended(c, bpf_ktime_get_ns());
	return 0;
}

/* Every socket's sendmsg ends here (TCP's are seen above, before their data
 * leaves); for unix stream sockets this is the send. Loaded only when unix
 * sockets are followed. */
SHERLOCK_RAW_PROG("raw_tp/sock_send_length", raw_sock_send_length, struct sock *sk, int ret)
{
	if (ret > 0 && BPF_CORE_READ(sk, __sk_common.skc_family) == AF_UNIX && BPF_CORE_READ(sk, sk_type) == SOCK_STREAM)
		sent(sk, true, false, 0);
	return 0;
}

SHERLOCK_RAW_PROG("raw_tp/sk_data_ready", raw_sk_data_ready, const struct sock *sk)
{
	struct tcpresponse_conn *c = conn_of(sk);
	__u64 now, received;
	__u8 fin;

	if (!c) {
		request_arrived(sk, bpf_ktime_get_ns());
		return 0;
	}
	if (c->ignored)
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
