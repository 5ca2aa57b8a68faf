/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* execsnoop records as they cross the ring buffer "events".
 * Decoded by src/captures/execsnoop/decode.ts; keep the two in step. */
#ifndef EXECSNOOP_H
#define EXECSNOOP_H

#include "../common/sherlock.h"

#define EXECSNOOP_MAX_ARGS 20
#define EXECSNOOP_ARG_LEN 128    /* each argument, NUL included */
#define EXECSNOOP_FILENAME_LEN 256
#define EXECSNOOP_ARGS_SIZE (EXECSNOOP_MAX_ARGS * EXECSNOOP_ARG_LEN)

enum execsnoop_kind {
	EXECSNOOP_EXEC = 1, /* an execve/execveat returned (success or failure) */
	EXECSNOOP_EXIT = 2, /* a process that exec'd inside the window exited */
};

/* Common prefix of both records. */
struct execsnoop_header {
	__u32 kind;
	__u32 pid;        /* tgid */
	__u64 ts_ns;      /* bpf_ktime_get_ns() when the record was made */
};

struct execsnoop_exec {
	struct execsnoop_header hdr;
	__u32 tid;        /* thread that called execve (before de_thread) */
	__u32 ppid;       /* real parent's tgid */
	__u32 uid;
	__s32 retval;     /* 0, or -errno for a failed exec */
	__u64 cgroup_id;  /* cgroup v2 id */
	__u64 memcg_id;   /* the memory controller's cgroup (sherlock_memcg_id) */
	__u32 args_count; /* arguments in args, read one by one; 0 when args is
	                   * the new image's argument area whole (count its
	                   * NUL-ended strings) */
	__u32 args_size;  /* bytes of args used: NUL-separated strings */
	__u8 args_truncated; /* one by one: more than MAX_ARGS, an argument cut at
	                      * ARG_LEN, or unreadable; the area whole: cut at
	                      * ARGS_SIZE (user space keeps MAX_ARGS of it) */
	__u8 partial;     /* EXECSNOOP_PARTIAL_* bits: what could not be read */
	__u8 pad[6];
	char comm[TASK_COMM_LEN];   /* after exec on success, the caller's otherwise */
	char pcomm[TASK_COMM_LEN];  /* the caller's comm before exec */
	/* filename and args: after a successful exec, what the kernel used: the
	 * path execve got (from sched_process_exec) and the new image's argv
	 * (for a #! script: interpreter, script, arguments). After a failed
	 * exec, what execve was passed, read at its exit. */
	char filename[EXECSNOOP_FILENAME_LEN];
	char args[EXECSNOOP_ARGS_SIZE]; /* only args_size bytes are sent */
};

/* execsnoop_exec.partial: the caller's or the new image's memory could not
 * be read (not paged in: BPF cannot fault it in). */
#define EXECSNOOP_PARTIAL_FILENAME 1
#define EXECSNOOP_PARTIAL_ARGS 2

struct execsnoop_exit {
	struct execsnoop_header hdr;
	__s32 exit_code;    /* exit status (0-255) when exited normally */
	__s32 exit_signal;  /* terminating signal, 0 if exited normally */
	__u64 lifetime_ns;  /* from exec to exit */
};

#endif
