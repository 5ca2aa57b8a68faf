// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* filetop: reads, writes and bytes per (process, file), from the syscall
 * tracepoints of read, write, pread64, pwrite64, readv, writev, preadv,
 * pwritev, preadv2 and pwritev2 (not counted: mmap, io_uring, sendfile,
 * splice, copy_file_range, and 32-bit compat syscalls).
 *
 * Only sys_exit is traced: the fd comes from the saved user registers, and
 * the result is added to the file's counters. A file is keyed by (tgid, dev,
 * inode), found from the fd through current->files. The path is walked only
 * when a key is new and sent once over the ring buffer "paths"; user space
 * joins it to the counters. Layouts: filetop.h. The ten exit programs are
 * one tail call each (see "tail_calls"), so the verifier checks the counting
 * twice and the walk once instead of ten times each: load ~35 -> ~6 ms.
 *
 * Path limits: at most FILETOP_MAX_DEPTH names and FILETOP_MAX_STEPS steps
 * (names plus mounts crossed); mounts are crossed as d_path() does, up to
 * the root of the file's mount namespace (a chroot is not applied). Deeper
 * paths come back marked truncated ("…/" in user space). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sherlock.bpf.h"
#include "maps.bpf.h"
#include "filetop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SHERLOCK_RECORD(filetop_path);


/* The counters, per CPU (no atomics on the hot path). Not preallocated:
 * creating 10240 per-CPU values up front took 8 ms of the load; an entry is
 * now allocated when a key is new (the hot path only looks keys up). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 10240); /* user space may resize before load */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct filetop_key);
	__type(value, struct filetop_stats);
} files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} paths SEC(".maps");

/* The last file counted on this CPU and its counts not yet in "files". */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filetop_last);
} last SEC(".maps");

/* Scratch for one path record: too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filetop_path);
} path_scratch SEC(".maps");

/* ---- The programs reached by tail call ----------------------------------
 * The ten exit programs only tail-call count_read or count_write, which
 * tail-call resolve_path for a new key: the verifier checks the counting
 * twice and the path walk once, not ten times each. libbpf fills the slots
 * when the object loads. */
enum { FILETOP_COUNT_READ, FILETOP_COUNT_WRITE, FILETOP_RESOLVE_PATH, FILETOP_TAIL_CALLS };

int count_read(struct trace_event_raw_sys_exit *ctx);
int count_write(struct trace_event_raw_sys_exit *ctx);
int resolve_path(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, FILETOP_TAIL_CALLS);
	__uint(key_size, sizeof(__u32)); /* not __type: a prog array takes no BTF */
	__array(values, int (void *));
} tail_calls SEC(".maps") = {
	.values = {
		[FILETOP_COUNT_READ] = (void *)&count_read,
		[FILETOP_COUNT_WRITE] = (void *)&count_write,
		[FILETOP_RESOLVE_PATH] = (void *)&resolve_path,
	},
};

/* ---- The path walk, only for a new key (program resolve_path) ----------- */

struct walk_state {
	struct dentry *dentry;
	struct mount *mnt;
	__u32 off;
	__u32 depth;
	__u32 flags;
	bool done;
};

static __always_inline struct mount *real_mount(struct vfsmount *vfsmnt)
{
	return (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

/* One step up: a component, or a mount crossed. Mirrors the kernel's
 * prepend_path(): at a mount's root, continue from its mountpoint in the
 * parent mount; stop at a mount that is its own parent (the namespace root).
 * A dentry that is its own parent but no mount's root has no path from a
 * root: a pipe, socket, anon inode or memfd (pseudo). */
static long walk_step(__u32 i, struct walk_state *st)
{
	/* Locals, not st->...: BPF_CORE_READ would relocate the state's fields too. */
	struct dentry *d = st->dentry, *parent;
	struct mount *mnt = st->mnt;
	struct filetop_path *p;
	__u32 zero = 0, off = st->off;
	const unsigned char *name;
	long len;

	if (d == BPF_CORE_READ(mnt, mnt.mnt_root)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (!up || up == mnt) {
			st->done = true; /* the root of the namespace */
			return 1;
		}
		st->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		st->mnt = up;
		return 0;
	}
	if (st->depth >= FILETOP_MAX_DEPTH || off > FILETOP_PATH_SIZE - FILETOP_NAME_LEN) {
		st->flags |= FILETOP_PATH_TRUNCATED;
		return 1;
	}
	p = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!p)
		return 1;
	name = BPF_CORE_READ(d, d_name.name);
	len = bpf_probe_read_kernel_str(&p->names[off], FILETOP_NAME_LEN, name);
	if (len <= 0) {
		st->flags |= FILETOP_PATH_TRUNCATED;
		return 1;
	}
	st->off = off + len;
	st->depth++;
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d) {
		st->flags |= FILETOP_PATH_PSEUDO;
		st->done = true;
		return 1;
	}
	st->dentry = parent;
	return 0;
}

/* The first time a process touches a file: its path, walked up once.
 * Reached only by the tail call at the end of count_io(), which has just put
 * the new key, its struct file and inode in this CPU's "last" slot; the
 * verifier checks this program (and its bpf_loop walk) once for the object. */
/* no attach point: a tail-call target only */
SHERLOCK_PROG("tracepoint", resolve_path, void *ctx)
{
	struct walk_state st = {};
	struct task_struct *leader;
	struct filetop_last *l;
	struct dentry *dentry;
	struct filetop_path *p;
	struct inode *inode;
	struct file *file;
	__u32 zero = 0;
	__u64 len;

	l = bpf_map_lookup_elem(&last, &zero);
	p = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!l || !p)
		return 0;
	file = (struct file *)l->file;
	inode = (struct inode *)l->inode;
	p->key = l->key;
	p->mode = BPF_CORE_READ(inode, i_mode);
	/* The process's name (its leader's), not the calling thread's. */
	leader = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), group_leader);
	if (bpf_core_read_str(p->comm, sizeof(p->comm), &leader->comm) < 0)
		bpf_get_current_comm(p->comm, sizeof(p->comm));

	dentry = BPF_CORE_READ(file, f_path.dentry);
	st.dentry = dentry;
	st.mnt = real_mount(BPF_CORE_READ(file, f_path.mnt));
	/* d_unlinked(): unhashed and not a root. */
	if (!BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry)
		st.flags |= FILETOP_PATH_DELETED;
	bpf_loop(FILETOP_MAX_STEPS, walk_step, &st, 0);
	if (!st.done)
		st.flags |= FILETOP_PATH_TRUNCATED;

	p->depth = st.depth;
	p->size = st.off;
	p->flags = st.flags;
	if (st.flags & FILETOP_PATH_TRUNCATED)
		sherlock_count(SHERLOCK_PARTIAL_READ);
	len = offsetof(struct filetop_path, names) + st.off;
	if (len > sizeof(*p))
		len = sizeof(*p);
	if (bpf_ringbuf_output(&paths, p, len, BPF_RB_NO_WAKEUP))
		sherlock_count(SHERLOCK_DROP_RINGBUF_FULL);
	return 0;
}

/* ---- The hot path ------------------------------------------------------- */

/* Moves the counts gathered in the per-CPU slot to the key's entry. */
static __always_inline void flush(struct filetop_last *l)
{
	struct filetop_stats *stats;

	if (!l->pending.reads && !l->pending.writes)
		return;
	stats = bpf_map_lookup_elem(&files, &l->key);
	if (stats) { /* always: a key is only cached once it is in the map */
		stats->reads += l->pending.reads;
		stats->writes += l->pending.writes;
		stats->read_bytes += l->pending.read_bytes;
		stats->write_bytes += l->pending.write_bytes;
	}
	__builtin_memset(&l->pending, 0, sizeof(l->pending));
}

static __always_inline void add_pending(struct filetop_last *l, bool write, long ret)
{
	if (write) {
		l->pending.writes++;
		l->pending.write_bytes += ret;
	} else {
		l->pending.reads++;
		l->pending.read_bytes += ret;
	}
}

/* Only sys_exit is traced: the fd is the syscall's first argument, still in
 * the task's saved user registers (pt_regs) when the syscall returns. One
 * program per call instead of two, and no per-thread map to update and
 * delete (that enter side cost as much as the exit side).
 *
 * The same file read again and again (the common case) costs two probe
 * reads and no hash lookup: the per-CPU slot "last" remembers the struct
 * file, its inode and the inode number the key came from; all three must
 * match (a freed file and inode can come back at the same addresses, the
 * inode number tells them apart). */
static __always_inline int count_io(struct trace_event_raw_sys_exit *ctx, bool write)
{
	__u32 zero = 0, tgid, fd;
	struct filetop_stats *stats, fresh = {};
	bool fresh_key = false;
	struct filetop_last *l;
	struct task_struct *task;
	struct filetop_key key;
	struct file *file = NULL;
	struct inode *inode;
	struct fdtable *fdt;
	long ret = ctx->ret;
	__u64 ino;

	if (ret < 0 || !sherlock_current_selected())
		return 0;
	task = bpf_get_current_task_btf();
	fd = PT_REGS_PARM1_SYSCALL((struct pt_regs *)bpf_task_pt_regs(task));

	/* current->files->fdt->fd[fd]: the fd is still open in the usual case
	 * (closing it from another thread mid-call is a race we attribute to
	 * whatever holds the fd now). */
	fdt = task->files->fdt;
	if (fd >= fdt->max_fds)
		return 0;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]) || !file)
		return 0;
	l = bpf_map_lookup_elem(&last, &zero);
	if (!l)
		return 0;
	tgid = task->tgid;
	inode = BPF_CORE_READ(file, f_inode);
	ino = BPF_CORE_READ(inode, i_ino);
	if (l->file == (__u64)file && l->inode == (__u64)inode && l->key.ino == ino && l->key.tgid == tgid)
		goto add;

	/* Another file: settle the previous one's counts, find this one's key. */
	flush(l);
	l->file = 0;
	key.tgid = tgid;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = ino;
	stats = bpf_map_lookup_elem(&files, &key);
	if (!stats) {
		long err = bpf_map_update_elem(&files, &key, &fresh, BPF_NOEXIST);

		if (err == 0)
			fresh_key = true;
		else if (err != -EEXIST) {
			sherlock_count(SHERLOCK_DROP_MAP_FULL);
			return 0;
		}
	}
	l->key = key;
	l->file = (__u64)file;
	l->inode = (__u64)inode;
	add_pending(l, write, ret);
	if (fresh_key) {
		/* resolve_path reads the key, file and inode from "last"; it
		 * returns here only if the call failed (the slot is empty). */
		bpf_tail_call(ctx, &tail_calls, FILETOP_RESOLVE_PATH);
		sherlock_count(SHERLOCK_PARTIAL_READ);
	}
	return 0;
add:
	add_pending(l, write, ret);
	return 0;
}

/* tail-call targets only */
SHERLOCK_PROG("tracepoint", count_read, struct trace_event_raw_sys_exit *ctx) { return count_io(ctx, false); }
SHERLOCK_PROG("tracepoint", count_write, struct trace_event_raw_sys_exit *ctx) { return count_io(ctx, true); }

/* Each returns only if its tail call failed: an empty slot, which happens
 * only after user space empties the array at close (index.ts). Not timed
 * (SHERLOCK_PROG): the program called counts the run. */
#define EXIT_PROGRAM(call, slot)					\
	SEC("tracepoint/syscalls/sys_exit_" #call)			\
	int tp_exit_##call(struct trace_event_raw_sys_exit *ctx)	\
	{								\
		bpf_tail_call(ctx, &tail_calls, slot);			\
		return 0;						\
	}

EXIT_PROGRAM(read, FILETOP_COUNT_READ)
EXIT_PROGRAM(pread64, FILETOP_COUNT_READ)
EXIT_PROGRAM(readv, FILETOP_COUNT_READ)
EXIT_PROGRAM(preadv, FILETOP_COUNT_READ)
EXIT_PROGRAM(preadv2, FILETOP_COUNT_READ)
EXIT_PROGRAM(write, FILETOP_COUNT_WRITE)
EXIT_PROGRAM(pwrite64, FILETOP_COUNT_WRITE)
EXIT_PROGRAM(writev, FILETOP_COUNT_WRITE)
EXIT_PROGRAM(pwritev, FILETOP_COUNT_WRITE)
EXIT_PROGRAM(pwritev2, FILETOP_COUNT_WRITE)
