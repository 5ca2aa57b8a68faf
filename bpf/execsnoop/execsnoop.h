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
	__u64 cgroup_id;
	__u32 args_count; /* arguments captured in args */
	__u32 args_size;  /* bytes of args used: NUL-separated strings */
	__u8 args_truncated; /* more than MAX_ARGS, or an argument cut at ARG_LEN */
	__u8 pad[7];
	char comm[TASK_COMM_LEN];   /* after exec on success, the caller's otherwise */
	char pcomm[TASK_COMM_LEN];  /* the caller's comm before exec */
	char filename[EXECSNOOP_FILENAME_LEN];
	char args[EXECSNOOP_ARGS_SIZE]; /* only args_size bytes are sent */
};

struct execsnoop_exit {
	struct execsnoop_header hdr;
	__s32 exit_code;    /* exit status (0-255) when exited normally */
	__s32 exit_signal;  /* terminating signal, 0 if exited normally */
	__u64 lifetime_ns;  /* from exec to exit */
};

#endif
