// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* opensnoop: every open, openat and openat2 of a selected task, with its
 * path, flags, mode and result (fd or errno). sys_enter keeps the arguments
 * by thread; sys_exit reads the path (the kernel has just copied it, so the
 * user page is present) and sends one record. Layout: opensnoop.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "opensnoop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AT_FDCWD -100

/* The arguments of an open between its sys_enter and sys_exit. */
struct open_args {
	const char *path;
	const void *how;   /* openat2: struct open_how * */
	__u64 flags;
	__u32 mode;
	__s32 dirfd;
	__u32 syscall;
};

/* struct open_how (include/uapi/linux/openat2.h): a stable uapi layout. */
struct open_how___sherlock {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_args);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* user space may resize before load */
} events SEC(".maps");

/* One record being built: too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct opensnoop_event);
} scratch SEC(".maps");

static __always_inline int open_enter(struct open_args *args)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!sherlock_current_selected())
		return 0;
	if (bpf_map_update_elem(&starts, &tid, args, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
	return 0;
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_open", tp_enter_open, struct trace_event_raw_sys_enter *ctx)
{
	struct open_args args = {
		.path = (const char *)ctx->args[0],
		.flags = (__u32)ctx->args[1],
		.mode = (__u32)ctx->args[2],
		.dirfd = AT_FDCWD,
		.syscall = OPENSNOOP_OPEN,
	};
	return open_enter(&args);
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_openat", tp_enter_openat, struct trace_event_raw_sys_enter *ctx)
{
	struct open_args args = {
		.path = (const char *)ctx->args[1],
		.flags = (__u32)ctx->args[2],
		.mode = (__u32)ctx->args[3],
		.dirfd = (__s32)ctx->args[0],
		.syscall = OPENSNOOP_OPENAT,
	};
	return open_enter(&args);
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_openat2", tp_enter_openat2, struct trace_event_raw_sys_enter *ctx)
{
	struct open_args args = {
		.path = (const char *)ctx->args[1],
		.how = (const void *)ctx->args[2],
		.dirfd = (__s32)ctx->args[0],
		.syscall = OPENSNOOP_OPENAT2,
	};
	return open_enter(&args);
}

static __always_inline int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct opensnoop_event *e;
	struct open_args *args;
	long len;

	args = bpf_map_lookup_elem(&starts, &tid);
	if (!args)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto out;

	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->memcg_id = sherlock_memcg_id((struct task_struct *)bpf_get_current_task());
	e->ret = (__s32)ctx->ret;
	e->dirfd = args->dirfd;
	e->syscall = args->syscall;
	e->flags = args->flags;
	e->mode = args->mode;
	e->rec_flags = 0;
	if (args->how) {
		struct open_how___sherlock how = {};

		if (bpf_probe_read_user(&how, sizeof(how), args->how)) {
			e->rec_flags |= OPENSNOOP_HOW_PARTIAL;
			sherlock_count(SHERLOCK_PARTIAL_READ);
		}
		e->flags = how.flags;
		e->mode = (__u32)how.mode;
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	len = bpf_probe_read_user_str(e->path, sizeof(e->path), args->path);
	if (len <= 0) {
		e->path[0] = 0;
		len = 1;
		e->rec_flags |= OPENSNOOP_PATH_PARTIAL;
		sherlock_count(SHERLOCK_PARTIAL_READ);
	} else if (len == sizeof(e->path)) {
		e->rec_flags |= OPENSNOOP_PATH_PARTIAL; /* cut at PATH_MAX */
	}
	e->path_len = len;
	/* Send only the path bytes in use; the bound keeps the verifier happy. */
	len = offsetof(struct opensnoop_event, path) + (len & (OPENSNOOP_PATH_LEN - 1));
	if (len <= offsetof(struct opensnoop_event, path))
		len = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, len, BPF_RB_NO_WAKEUP))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
out:
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_open", tp_exit_open, struct trace_event_raw_sys_exit *ctx) { return open_exit(ctx); }

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_openat", tp_exit_openat, struct trace_event_raw_sys_exit *ctx) { return open_exit(ctx); }

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_openat2", tp_exit_openat2, struct trace_event_raw_sys_exit *ctx) { return open_exit(ctx); }
