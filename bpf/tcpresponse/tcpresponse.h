/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpresponse: the maps and the record user space reads. Decoded by
 * src/captures/tcpresponse/decode.ts; keep the two in step. */
#ifndef TCPRESPONSE_H
#define TCPRESPONSE_H

#include "../common/sherlock.h"

/* Which side of a connection this host is, and so whose answers are timed. */
enum tcpresponse_role {
	TCPRESPONSE_CLIENT = 1, /* it connected out: the peer's answers (an upstream's) */
	TCPRESPONSE_SERVER = 2, /* accepted on a listener: this host's own answers */
};

/* Who spoke last on a connection. */
enum tcpresponse_turn {
	TCPRESPONSE_SENT = 1,
	TCPRESPONSE_RECEIVED = 2,
};

/* How a timed answer ended (struct tcpresponse_event.outcome). */
enum tcpresponse_outcome {
	TCPRESPONSE_ANSWERED = 1,  /* its first byte arrived (client) or left (server) */
	TCPRESPONSE_ABANDONED = 2, /* the client closed the connection still waiting */
};

/* One side of a conversation, the key of "answers": a client's is the
 * peer's address and port, a server's its listening port (addr zero). A
 * unix stream socket's (family AF_UNIX) is its path's hash in addr, for
 * either side (map "unix_paths" names it), and port 0. */
struct tcpresponse_key {
	__u8 addr[16]; /* IPv4 in the first 4 bytes; AF_UNIX: the path's hash in the first 8 */
	__u32 tgid;
	__u16 port;    /* host order */
	__u16 family;  /* AF_INET or AF_INET6 */
	__u8 role;     /* enum tcpresponse_role */
	__u8 pad[7];
};

/* Every answer under a key: a log2 histogram in microseconds; and the
 * writes Nagle's algorithm held back, how long until the peer's ACK let them go. */
struct tcpresponse_stats {
	struct sherlock_hist hist;
	__u64 max_ns;
	__u64 cgroup_id;
	char comm[TASK_COMM_LEN];
	__u64 held;
	__u64 held_ns;
	__u64 held_max_ns;
};

/* A connection, by sock pointer (map "conns"); user space reads it at the
 * end for the answers still awaited. key.tgid 0: a request arrived on it and
 * no process has answered yet (its owner is not known). */
struct tcpresponse_conn {
	__u64 last_send_ns;
	__u64 last_recv_ns; /* 0: nothing received since the capture began */
	__u64 bytes_received; /* tcp_sock.bytes_received when last readable */
	__u64 cgroup_id;
	__u64 ino;      /* AF_UNIX: the socket's inode, telling a reused sock pointer from its old socket */
	__u64 held_since_ns; /* Nagle's algorithm holds this side's last write since then; 0: nothing held */
	struct tcpresponse_key key;
	__u32 tid;      /* the thread that sent last: a client's waiting thread */
	__u32 held_seq; /* the unacknowledged small segment's end (tcp_sock.snd_sml) the held write waits for */
	__u8 last;      /* enum tcpresponse_turn */
	__u8 answered;  /* the peer has ever sent data: not a one-way stream */
	__u8 fin;       /* the peer's FIN is counted in bytes_received */
	__u8 ignored;   /* its owner is one the filters leave out (known at its first send) */
	__u8 pad[4];
	char comm[TASK_COMM_LEN];
};

/* Ring buffer "events": an answer that took at least record_ns. */
struct tcpresponse_event {
	__u64 end_ns;   /* bpf_ktime_get_ns() when it came (or was given up) */
	__u64 wait_ns;
	__u64 cgroup_id;
	struct tcpresponse_key key;
	__u32 tid;
	__u8 outcome;   /* enum tcpresponse_outcome */
	__u8 pad[3];
	char comm[TASK_COMM_LEN];
};

/* Value of "unix_paths", by the hash in a key: a unix socket's name (an
 * abstract one starts with a NUL byte). */
#define TCPRESPONSE_PATH_MAX 108

struct tcpresponse_path {
	__u32 len;
	char path[TCPRESPONSE_PATH_MAX];
};

/* Key of "listeners", filled by user space: a listening port in a network
 * namespace, whose accepted connections are servers'. */
struct tcpresponse_listener {
	__u32 netns;   /* the namespace's inode number */
	__u16 port;
	__u16 pad;
};

#endif
