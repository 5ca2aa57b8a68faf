// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* execsnoop: every execve/execveat of a selected task (path, argv, result)
 * and, for the processes that exec'd inside the window, their exit status
 * and lifetime. Records are laid out in execsnoop.h.
 *
 * Only classic tracepoints are used (no kprobes, no fentry/tp_btf), and the
 * tracepoint contexts whose layout changed across kernels are read through
 * local CO-RE flavors. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "task_exit.bpf.h"
#include "execsnoop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SHERLOCK_RECORD(execsnoop_exit);

/* Only the fields we read: CO-RE finds them wherever the kernel puts them
 * (the comm fields around them became __data_loc in 6.x). filename is a
 * __data_loc string: offset from the start of ctx in the low 16 bits, length
 * in the high 16. */
struct trace_event_raw_sched_process_exec___sherlock {
	__u32 __data_loc_filename;
	pid_t pid;
	pid_t old_pid;
} __attribute__((preserve_access_index));

struct trace_event_raw_sched_process_fork___sherlock {
	pid_t parent_pid;
	pid_t child_pid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space may resize before load */
} events SEC(".maps");

/* An exec between syscall entry and exit: the record sent at the exit, and
 * where the caller passed its path and argv. Nothing is read from the caller
 * at entry: a freshly forked child has often not touched those pages yet, and
 * each read of one faults in the kernel before it fails (31 us an exec on
 * this VM). A successful exec is read from the new image, which is present;
 * a failed one at its exit, from the caller, whose pages execve has read. */
struct exec_in_flight {
	struct execsnoop_exec rec;
	__u64 filename;
	__u64 argv;
};

/* Execs between syscall entry and exit, by the calling thread's tid. Not
 * preallocated: 1024 records of ~2.9 KiB each were 2.9 MiB of kernel memory
 * per loaded object (a warm pool holds one idle) and a quarter of its load's
 * CPU; an entry allocated per exec costs little beside the exec. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct exec_in_flight);
} execs SEC(".maps");

/* A zeroed entry to seed execs: the record is too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_in_flight);
} exec_zero SEC(".maps");

/* When each process that exec'd inside the window did so, by tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} exec_start SEC(".maps");

struct read_args_state {
	struct execsnoop_exec *e;
	const char *const *argv;
	__u32 size;
	__u32 count;
	__u32 cut;
	bool failed;
};

/* One argument per bpf_loop step: the verifier checks this body once, not
 * once per argument as an open-coded loop would (load time is attach time). */
static long read_one_arg(__u32 i, struct read_args_state *st)
{
	const char *arg = NULL;
	__u32 size = st->size;
	long ret;

	if (bpf_probe_read_user(&arg, sizeof(arg), &st->argv[i])) {
		st->failed = true;
		return 1;
	}
	if (!arg)
		return 1;
	/* Keeps &args[size] + ARG_LEN inside args for the verifier; with
	 * MAX_ARGS slots of ARG_LEN this never cuts a real argument. */
	if (size > EXECSNOOP_ARGS_SIZE - EXECSNOOP_ARG_LEN) {
		st->cut = 1;
		return 1;
	}
	ret = bpf_probe_read_user_str(&st->e->args[size], EXECSNOOP_ARG_LEN, arg);
	if (ret < 0) {
		st->failed = true;
		return 1;
	}
	/* ret is 1..ARG_LEN; equal to ARG_LEN iff the argument filled its slot. */
	if (ret == EXECSNOOP_ARG_LEN)
		st->cut = 1;
	st->size = size + ret;
	st->count++;
	return 0;
}

/* argv into e->args as NUL-separated strings. */
static __always_inline void read_args(struct execsnoop_exec *e, const char *const *argv)
{
	struct read_args_state st = { .e = e, .argv = argv };
	const char *arg = NULL;

	if (!argv) /* execve(path, NULL, envp) is legal: no arguments */
		return;
	bpf_loop(EXECSNOOP_MAX_ARGS, read_one_arg, &st, 0);
	/* All slots used: is there one more? */
	if (st.count == EXECSNOOP_MAX_ARGS &&
	    (bpf_probe_read_user(&arg, sizeof(arg), &argv[EXECSNOOP_MAX_ARGS]) || arg))
		st.cut = 1;
	if (st.failed) {
		/* User memory not paged in yet: keep what we have, say it is partial
		 * (counted when the record is sent, unless exec replaces it). */
		e->partial |= EXECSNOOP_PARTIAL_ARGS;
		st.cut = 1;
	}
	e->args_size = st.size;
	e->args_count = st.count;
	e->args_truncated = st.cut;
}

static __always_inline int exec_enter(const char *filename, const char *const *argv)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct exec_in_flight *in, *tmpl;
	struct execsnoop_exec *e;
	struct task_struct *task;
	long err;

	/* The comm filter waits for sys_exit: it may match the new image. */
	if (!sherlock_current_ids_selected())
		return 0;

	tmpl = bpf_map_lookup_elem(&exec_zero, &zero);
	if (!tmpl)
		return 0;
	err = bpf_map_update_elem(&execs, &tid, tmpl, BPF_NOEXIST);
	/* A stale entry: an earlier execve of this tid never reached its exit. */
	if (err == -EEXIST)
		err = bpf_map_update_elem(&execs, &tid, tmpl, BPF_ANY);
	if (err) {
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
		return 0;
	}
	in = bpf_map_lookup_elem(&execs, &tid);
	if (!in)
		return 0;
	in->filename = (__u64)filename;
	in->argv = (__u64)argv;

	e = &in->rec;
	task = (struct task_struct *)bpf_get_current_task();
	e->hdr.kind = EXECSNOOP_EXEC;
	e->hdr.pid = id >> 32;
	/* Not the record's time (that is set at exit): the entry time, kept so
	 * a failed exec can tell whether exec_start was made by this exec. */
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->tid = tid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->memcg_id = sherlock_memcg_id(task);
	bpf_get_current_comm(e->pcomm, sizeof(e->pcomm));
	return 0;
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_execve", tp_sys_enter_execve, struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SHERLOCK_PROG("tracepoint/syscalls/sys_enter_execveat", tp_sys_enter_execveat, struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

/* The new image's argv: its pointer array sits on the new stack above argc
 * (x86-64 ELF start-up layout), its strings in the argument area. NULL when
 * the layout is not that (a 32-bit image): argv[0] must be arg_start. */
static __always_inline const char *const *new_image_argv(unsigned long arg_start)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	const char *const *argv = (const char *const *)(PT_REGS_SP_CORE(regs) + sizeof(long));
	const char *first = NULL;

	if (bpf_probe_read_user(&first, sizeof(first), &argv[0]) || (unsigned long)first != arg_start)
		return NULL;
	return argv;
}

/* Filename and argv of a successful exec, from where the kernel put them,
 * which is present: the path from the tracepoint (kernel memory), argv from
 * the new image (for a #! script: interpreter, script, arguments): its
 * argument area whole (the NUL-separated strings of /proc/PID/cmdline) when
 * it fits ARGS_SIZE; past that, each argument cut at ARG_LEN as at a failed
 * exec's exit, which shows more of a long command line than its first
 * ARGS_SIZE bytes would (user space keeps MAX_ARGS arguments either way). */
static __always_inline void read_exec_strings(struct trace_event_raw_sched_process_exec___sherlock *ctx,
					      struct execsnoop_exec *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u32 loc = ctx->__data_loc_filename;
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	__u64 len = BPF_CORE_READ(mm, arg_end) - start;
	const char *const *argv;

	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + (loc & 0xffff)) < 0)
		e->partial |= EXECSNOOP_PARTIAL_FILENAME;
	e->args_truncated = 0;
	if (len > EXECSNOOP_ARGS_SIZE) {
		argv = new_image_argv(start);
		if (argv) {
			read_args(e, argv);
			if (!(e->partial & EXECSNOOP_PARTIAL_ARGS))
				return;
			e->partial &= ~EXECSNOOP_PARTIAL_ARGS;
		}
		len = EXECSNOOP_ARGS_SIZE;
		e->args_truncated = 1;
	}
	if (len && bpf_probe_read_user(e->args, len, (const void *)start)) {
		e->partial |= EXECSNOOP_PARTIAL_ARGS;
		len = 0;
	}
	e->args_size = len;
	e->args_count = 0; /* user space counts the strings */
}

/* The exec succeeded: the new image is in place, the syscall not yet returned. */
SHERLOCK_PROG("tracepoint/sched/sched_process_exec", tp_sched_process_exec, struct trace_event_raw_sched_process_exec___sherlock *ctx)
{
	__u32 pid = ctx->pid, old_pid = ctx->old_pid;
	struct exec_in_flight *e;
	__u64 now;

	e = bpf_map_lookup_elem(&execs, &old_pid);
	if (!e)
		return 0; /* not selected at entry */

	/* A non-leader thread exec'd: de_thread gave it the tgid as its tid,
	 * and sys_exit will look it up under that. */
	if (old_pid != pid) {
		if (bpf_map_update_elem(&execs, &pid, e, BPF_ANY)) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			bpf_map_delete_elem(&execs, &old_pid);
			return 0;
		}
		bpf_map_delete_elem(&execs, &old_pid);
		e = bpf_map_lookup_elem(&execs, &pid);
		if (!e)
			return 0;
	}
	read_exec_strings(ctx, &e->rec);

	/* After de_thread pid is the tgid. The latest exec wins: the exit
	 * belongs to the image that exec installed. */
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&exec_start, &pid, &now, BPF_ANY))
		sherlock_count(SHERLOCK_DROP_MAP_FULL);
	return 0;
}

/* A failed exec: what the caller passed, read now that execve has read it
 * (its pages are present, unless the exec failed before reaching them). */
static __always_inline void read_caller_strings(struct exec_in_flight *in)
{
	struct execsnoop_exec *e = &in->rec;

	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)in->filename) < 0)
		e->partial |= EXECSNOOP_PARTIAL_FILENAME;
	read_args(e, (const char *const *)in->argv);
}

static __always_inline int exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_in_flight *in;
	struct execsnoop_exec *e;
	__u64 len, *start;
	__u8 partial;

	in = bpf_map_lookup_elem(&execs, &tid);
	if (!in)
		return 0;
	e = &in->rec;

	e->retval = (__s32)ctx->ret;
	if (e->retval < 0) {
		/* Cannot happen (sched_process_exec only fires once the exec can
		 * no longer fail) but never report an exit for an image that did
		 * not run; keep an older exec's entry. */
		__u32 tgid = e->hdr.pid;

		start = bpf_map_lookup_elem(&exec_start, &tgid);
		if (start && *start >= e->hdr.ts_ns)
			bpf_map_delete_elem(&exec_start, &tgid);
	}
	e->hdr.ts_ns = bpf_ktime_get_ns();
	/* The new image's comm after a success, the caller's after a failure. */
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	/* --comm NAME: execs of NAME, and the execs NAME launches. */
	if (!sherlock_comm_selected(e->comm) && !sherlock_comm_selected(e->pcomm)) {
		__u32 tgid = e->hdr.pid;

		if (e->retval == 0)
			bpf_map_delete_elem(&exec_start, &tgid);
		bpf_map_delete_elem(&execs, &tid);
		return 0;
	}

	if (e->retval < 0)
		read_caller_strings(in);

	/* Send only the argument bytes in use. */
	len = offsetof(struct execsnoop_exec, args) + e->args_size;
	if (len > sizeof(*e))
		len = sizeof(*e);
	partial = e->partial;
	if (bpf_ringbuf_output(&events, e, len, BPF_RB_NO_WAKEUP))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
	else if (partial)
		sherlock_count(SHERLOCK_PARTIAL_READ); /* sent with a field missing */
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_execve", tp_sys_exit_execve, struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx);
}

SHERLOCK_PROG("tracepoint/syscalls/sys_exit_execveat", tp_sys_exit_execveat, struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx);
}

SHERLOCK_PROG("tracepoint/sched/sched_process_exit", tp_sched_process_exit, struct trace_event_raw_sched_process_exit___sherlock *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), *start, now;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct execsnoop_exit rec = {};
	int status;

	/* A thread killed inside execve never reaches sys_exit: drop its entry. */
	bpf_map_delete_elem(&execs, &tid);

	/* Report the process once, when its last thread goes: the leader may
	 * exit (pthread_exit) long before the process does. */
	if (!group_dead(ctx, task))
		return 0;
	sherlock_forget_tgid(tgid);
	start = bpf_map_lookup_elem(&exec_start, &tgid);
	if (!start)
		return 0; /* did not exec inside the window */
	now = bpf_ktime_get_ns();
	rec.lifetime_ns = now - *start;
	if (bpf_map_delete_elem(&exec_start, &tgid))
		return 0; /* another thread already reported it */

	status = wait_status(task);
	rec.hdr.kind = EXECSNOOP_EXIT;
	rec.hdr.pid = tgid;
	rec.hdr.ts_ns = now;
	rec.exit_code = (status >> 8) & 0xff;
	rec.exit_signal = status & 0x7f;
	if (bpf_ringbuf_output(&events, &rec, sizeof(rec), BPF_RB_NO_WAKEUP))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
	return 0;
}

/* A new thread shares the parent's tgid: true if child is the newest thread
 * of the parent's group (copy_process appends it to signal->thread_head). A
 * miss only costs a harmless extra tid in the tgid set. */
static __always_inline bool is_new_thread(__u32 child_pid)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct list_head *last = BPF_CORE_READ(task, signal, thread_head.prev);
	struct task_struct *newest;

	newest = (void *)last - bpf_core_field_offset(struct task_struct, thread_node);
	return BPF_CORE_READ(newest, pid) == child_pid;
}

SHERLOCK_PROG("tracepoint/sched/sched_process_fork", tp_sched_process_fork, struct trace_event_raw_sched_process_fork___sherlock *ctx)
{
	/* The tracepoint runs in the parent; parent_pid is its tid, not tgid. */
	__u32 parent_tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 child_pid = ctx->child_pid; /* a new process: its tgid */

	if (!filter_by_tgid || !follow_forks || !sherlock_tgid_selected(parent_tgid))
		return 0;
	if (is_new_thread(child_pid))
		return 0; /* keep the tgid set for processes */
	sherlock_follow_fork(parent_tgid, child_pid);
	return 0;
}
