// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* syscallerrors: failing system calls, counted in the kernel per process,
 * syscall, errno and (for file calls) path. One program on the raw
 * tracepoint sys_exit, which hands over the syscall's saved registers: a
 * success costs one comparison; only a failure reads its number, its path
 * argument (still in the registers saved at entry) and updates the map.
 * Which syscalls take a path, and where, is the array path_args, filled by
 * user space from the architecture's syscall table; which take an fd is
 * fd_args: their fd is part of the key (user space names what it points
 * to), except for errnos that are routine on non-blocking fds, which would
 * make one row per connection of a busy server (but for lock calls, marked
 * SYSCALLERRORS_FD_EVEN_ROUTINE: a lock polled while another holds it). A new row on a socket fd
 * also keeps the socket's addresses. Calls given a socket address
 * (address_args: connect, bind, sendto) to a unix socket keep its name in
 * the path instead: a client failing to reach a local server by its socket
 * file says which server. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "fd_socket.bpf.h"
#include "syscallerrors.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The tracing process itself (its own EAGAINs are not the host's). */
const volatile __u32 targ_exclude_tgid = 0;

#define MAX_ERRNO 4095

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240); /* user space sizes it (param maxKeys) */
	__type(key, struct syscallerrors_key);
	__type(value, struct syscallerrors_value);
} errors SEC(".maps");

/* Syscall number → 1 + index of its path argument; 0: no path. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSCALLERRORS_MAX_NR);
	__type(key, __u32);
	__type(value, __u8);
} path_args SEC(".maps");

/* Syscall number → 1 + index of its fd argument, | SYSCALLERRORS_FD_EVEN_ROUTINE; 0: no fd. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSCALLERRORS_MAX_NR);
	__type(key, __u32);
	__type(value, __u8);
} fd_args SEC(".maps");

/* Syscall number → 1 + index of its socket address argument (its length is the next one); 0: none. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSCALLERRORS_MAX_NR);
	__type(key, __u32);
	__type(value, __u8);
} address_args SEC(".maps");

/* The key is too big to build on the stack beside the value. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscallerrors_key);
} scratch SEC(".maps");

/* libbpf before 1.2 has no sixth argument (sendto's address length). */
#ifndef PT_REGS_PARM6_CORE_SYSCALL
#if defined(__TARGET_ARCH_x86)
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ(x, r9)
#elif defined(__TARGET_ARCH_arm64)
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ(x, regs[5])
#endif
#endif

static __always_inline unsigned long syscall_arg(struct pt_regs *regs, __u8 which)
{
	switch (which) {
	case 1:
		return PT_REGS_PARM1_CORE_SYSCALL(regs);
	case 2:
		return PT_REGS_PARM2_CORE_SYSCALL(regs);
	case 3:
		return PT_REGS_PARM3_CORE_SYSCALL(regs);
	case 4:
		return PT_REGS_PARM4_CORE_SYSCALL(regs);
	case 5:
		return PT_REGS_PARM5_CORE_SYSCALL(regs);
	case 6:
		return PT_REGS_PARM6_CORE_SYSCALL(regs);
	}
	return 0;
}

/* "Not now" or "interrupted": routine on non-blocking fds (EAGAIN, EINTR,
 * EALREADY, EINPROGRESS, the kernel's ERESTART*), so no fd is kept. */
static __always_inline bool routine_errno(long err)
{
	return err == 11 || err == 4 || err == 114 || err == 115 || err >= 512;
}

#define AF_UNIX_ 1
#define AF_INET_ 2
#define AF_INET6_ 10

/* The addresses of the socket behind fd, into a new row's value (left 0 when it is none). */
static __always_inline void socket_ends(__u32 fd, struct syscallerrors_value *v)
{
	struct socket *sock = socket_of_fd(fd);
	struct sock *sk;
	__u16 family;

	if (!sock)
		return;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET_ && family != AF_INET6_)
		return;
	v->family = family;
	v->protocol = BPF_CORE_READ(sk, sk_protocol);
	v->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	v->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	v->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET_) {
		bpf_core_read(v->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(v->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(v->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(v->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* When argument `which` is a unix socket address, its name into path ("@name"
 * for an abstract one, whose bytes are counted by the length argument, not
 * ended by a NUL) and true; false for any other address. */
static __always_inline bool unix_address(struct pt_regs *regs, __u8 which, char *path)
{
	const char *addr = (const char *)syscall_arg(regs, which);
	long len = (long)syscall_arg(regs, which + 1) - 3; /* the family, the abstract name's leading NUL */
	__u16 family = 0;

	if (!addr || bpf_probe_read_user(&family, sizeof(family), addr) < 0 || family != AF_UNIX_)
		return false;
	if (bpf_probe_read_user(path, 1, addr + 2) < 0)
		return false;
	if (path[0]) {
		bpf_probe_read_user_str(path, SYSCALLERRORS_PATH_LEN, addr + 2);
		return true;
	}
	path[0] = '@';
	if (len > SYSCALLERRORS_PATH_LEN - 2)
		len = SYSCALLERRORS_PATH_LEN - 2;
	if (len > 0)
		bpf_probe_read_user(path + 1, len & (SYSCALLERRORS_PATH_LEN - 1), addr + 3);
	return true;
}

/* The inet address argument `which` names (a bind's or connect's), into the new row's asked_* fields. */
static __always_inline void asked_address(struct pt_regs *regs, __u8 which, struct syscallerrors_value *v)
{
	const __u8 *addr = (const __u8 *)syscall_arg(regs, which);
	__u8 buf[24] = {};
	__u16 family;

	if (!addr || bpf_probe_read_user(buf, sizeof(buf), addr) < 0)
		return;
	family = buf[0] | (buf[1] << 8);
	if (family != AF_INET_ && family != AF_INET6_)
		return;
	v->asked_family = family;
	v->asked_port = (buf[2] << 8) | buf[3]; /* network order in the sockaddr */
	if (family == AF_INET_)
		__builtin_memcpy(v->asked_addr, &buf[4], 4);
	else
		__builtin_memcpy(v->asked_addr, &buf[8], 16);
}

SHERLOCK_RAW_PROG("raw_tp/sys_exit", raw_sys_exit, struct pt_regs *regs, long ret)
{
	struct syscallerrors_value *value, fresh = {};
	struct syscallerrors_key *key;
	__u64 id, now;
	__u32 zero = 0, nr;
	__u8 *which, *addr_which = NULL;
	long n, fd;

	if (ret >= 0 || ret < -MAX_ERRNO)
		return 0; /* the common case: a success */
	id = bpf_get_current_pid_tgid();
	if ((__u32)(id >> 32) == targ_exclude_tgid || !sherlock_current_selected())
		return 0;
	n = syscall_nr(regs);
	if (n < 0)
		return 0; /* a syscall number of -1: the call never ran (seccomp, ptrace) */
	key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key)
		return 0;
	nr = n;
	key->tgid = id >> 32;
	key->nr = nr;
	key->err = -ret;
	key->fd = 0;
	/* Bytes past a shorter path are part of the key: clear them all. */
	__builtin_memset(key->path, 0, sizeof(key->path));
	which = bpf_map_lookup_elem(&path_args, &nr);
	if (which && *which) {
		const char *path = (const char *)syscall_arg(regs, *which);
		if (path && bpf_probe_read_user_str(key->path, sizeof(key->path), path) < 0)
			sherlock_count(SHERLOCK_PARTIAL_READ);
	} else if ((addr_which = bpf_map_lookup_elem(&address_args, &nr)) && *addr_which && unix_address(regs, *addr_which, key->path)) {
		/* the socket's name is the row's path */
	} else if ((which = bpf_map_lookup_elem(&fd_args, &nr)) && *which &&
		   (!routine_errno(-ret) || (*which & SYSCALLERRORS_FD_EVEN_ROUTINE))) {
		fd = (int)syscall_arg(regs, *which & ~SYSCALLERRORS_FD_EVEN_ROUTINE);
		if (fd >= 0 && fd < 0x7fffffff)
			key->fd = fd + 1;
	}

	now = bpf_ktime_get_ns();
	value = bpf_map_lookup_elem(&errors, key);
	if (!value) {
		fresh.first_ns = now;
		fresh.cgroup_id = bpf_get_current_cgroup_id();
		fresh.uid = (__u32)bpf_get_current_uid_gid();
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		if (key->fd)
			socket_ends(key->fd - 1, &fresh);
		if (addr_which && *addr_which && !key->path[0])
			asked_address(regs, *addr_which, &fresh);
		/* Fails with -EEXIST when another CPU made the row first: the lookup finds it. */
		bpf_map_update_elem(&errors, key, &fresh, BPF_NOEXIST);
		value = bpf_map_lookup_elem(&errors, key);
		if (!value) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			return 0;
		}
	}
	if (value->count && now - value->last_ns < SYSCALLERRORS_RETRY_GAP_NS)
		__sync_fetch_and_add(&value->retry_ns, now - value->last_ns);
	__sync_fetch_and_add(&value->count, 1);
	value->last_ns = now;
	value->tid = (__u32)id;
	return 0;
}
