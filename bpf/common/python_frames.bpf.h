/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reads the sampled thread's Python frame chain (CPython 3.11+) and sends
 * it on "snapshots" just before the thread's stack snapshot, the way the
 * OpenTelemetry eBPF profiler does: the thread state is found by tid in the
 * interpreter's thread list (the GIL holder first), then each
 * _PyInterpreterFrame gives its code object and instruction pointer. Names,
 * files and lines come from the code objects in user space. Included by
 * stacks.bpf.h. */
#ifndef SHERLOCK_PYTHON_FRAMES_BPF_H
#define SHERLOCK_PYTHON_FRAMES_BPF_H

#include "python_frames.h"

/* Most thread states looked through for the sampled thread's. */
#define PYTHON_MAX_THREADS 64

/* Python processes seen by user space (it fills this as processes are announced). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct python_process);
} python_procs SEC(".maps");

struct python_scratch {
	struct python_stack rec;
	__u8 frame[PYTHON_FRAME_READ + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct python_scratch);
} python_scratch SEC(".maps");

static __always_inline __u64 python_read_ptr(__u64 addr)
{
	__u64 value = 0;

	if (bpf_probe_read_user(&value, sizeof(value), (void *)addr))
		return 0;
	return value;
}

struct python_thread_search {
	const struct python_process *py;
	__u64 tstate; /* the one to look at next, then the one found (or 0) */
	__u32 tid;
	bool found;
};

static long python_thread_step(__u32 i, void *ctx)
{
	struct python_thread_search *q = ctx;

	if (!q->tstate)
		return 1;
	if (python_read_ptr(q->tstate + q->py->tstate_native_thread_id) == q->tid) {
		q->found = true;
		return 1;
	}
	q->tstate = python_read_ptr(q->tstate + q->py->tstate_next);
	return 0;
}

/* The thread state whose native_thread_id is tid, or 0. */
static __always_inline __u64 python_thread_state(const struct python_process *py, __u32 tid)
{
	struct python_thread_search q = { .py = py, .tid = tid };
	__u64 tstate, interp;

	if (py->tstate_current != PYTHON_NO_FIELD) {
		tstate = python_read_ptr(py->runtime + py->tstate_current);
		if (tstate && python_read_ptr(tstate + py->tstate_native_thread_id) == tid)
			return tstate;
	}
	interp = python_read_ptr(py->runtime + py->interpreters_head);
	if (!interp)
		return 0;
	q.tstate = python_read_ptr(interp + py->interp_threads_head);
	bpf_loop(PYTHON_MAX_THREADS, python_thread_step, &q, 0);
	return q.found ? q.tstate : 0;
}

struct python_walk {
	const struct python_process *py;
	struct python_scratch *s;
	__u64 frame;
};

/* A field of the frame read into s->frame; offsets are masked into the buffer. */
#define PY_FIELD(type, s, off) (*(type *)&(s)->frame[(off) & 0x7f])

static long python_walk_step(__u32 i, void *ctx)
{
	struct python_walk *w = ctx;
	const struct python_process *py = w->py;
	struct python_scratch *s = w->s;
	struct python_frame *out;
	__u32 n = i;

	if (!w->frame)
		return 1;
	if (n >= PYTHON_MAX_FRAMES)
		return 1;
	if (bpf_probe_read_user(s->frame, PYTHON_FRAME_READ, (void *)w->frame)) {
		s->rec.flags |= PYTHON_READ_FAULT;
		return 1;
	}
	/* n < PYTHON_MAX_FRAMES (a power of two): the mask shows the verifier the bound. */
	asm volatile("" : "+r"(n));
	n &= PYTHON_MAX_FRAMES - 1;
	out = &s->rec.frames[n];
	if (py->frame_code > PYTHON_FRAME_READ - 8 || py->frame_previous > PYTHON_FRAME_READ - 8 ||
	    py->frame_instr > PYTHON_FRAME_READ - 8 || py->frame_owner >= PYTHON_FRAME_READ)
		return 1;
	out->code = PY_FIELD(__u64, s, py->frame_code);
	out->instr = PY_FIELD(__u64, s, py->frame_instr);
	out->is_entry = py->frame_is_entry < PYTHON_FRAME_READ ? PY_FIELD(__u8, s, py->frame_is_entry) : 0;
	out->owner = PY_FIELD(__u8, s, py->frame_owner);
	w->frame = PY_FIELD(__u64, s, py->frame_previous);
	s->rec.count = n + 1;
	return 0;
}

/* A thread state's innermost frame: through its _PyCFrame (3.11, 3.12), or
 * its own field (3.13+). */
static __always_inline __u64 python_current_frame(const struct python_process *py, __u64 tstate)
{
	__u64 cframe;

	if (py->tstate_cframe == PYTHON_NO_FIELD)
		return python_read_ptr(tstate + py->current_frame);
	cframe = python_read_ptr(tstate + py->tstate_cframe);
	return cframe ? python_read_ptr(cframe + py->current_frame) : 0;
}

/* The current thread's innermost Python frame, as its code object and
 * instruction pointer mixed into one word; 0 when its process runs no Python
 * (or the frame cannot be read). Tells two blocks at one native place apart:
 * the interpreter's own stack is the same whatever Python line called. */
static __always_inline __u64 python_innermost(__u32 tgid, __u32 tid)
{
	struct python_process *py = bpf_map_lookup_elem(&python_procs, &tgid);
	__u64 tstate, frame, code, instr;

	if (!py)
		return 0;
	tstate = python_thread_state(py, tid);
	if (!tstate)
		return 0;
	frame = python_current_frame(py, tstate);
	if (!frame)
		return 0;
	code = python_read_ptr(frame + py->frame_code);
	instr = python_read_ptr(frame + py->frame_instr);
	return code ^ (instr * 0x9e3779b97f4a7c15ULL) ^ 1;
}

/* Sends the Python frames of the current thread when its process runs Python. */
static __always_inline void send_python_frames(__u32 tgid, __u32 tid)
{
	struct python_process *py = bpf_map_lookup_elem(&python_procs, &tgid);
	struct python_walk walk = {};
	struct python_scratch *s;
	__u32 zero = 0, count;
	__u64 tstate, frame;

	if (!py)
		return;
	s = bpf_map_lookup_elem(&python_scratch, &zero);
	if (!s)
		return;
	tstate = python_thread_state(py, tid);
	if (!tstate) {
		stack_error(STACK_PYTHON_NO_THREAD);
		return;
	}
	frame = python_current_frame(py, tstate);
	s->rec.type = STACK_RECORD_PYTHON;
	s->rec.tid = tid;
	s->rec.tgid = tgid;
	s->rec.count = 0;
	s->rec.pad = 0;
	s->rec.flags = 0;
	walk.py = py;
	walk.s = s;
	walk.frame = frame;
	bpf_loop(PYTHON_MAX_FRAMES, python_walk_step, &walk, 0);
	if (walk.frame && s->rec.count >= PYTHON_MAX_FRAMES && !(s->rec.flags & PYTHON_READ_FAULT))
		s->rec.flags |= PYTHON_TRUNCATED;
	count = s->rec.count;
	if (count > PYTHON_MAX_FRAMES)
		count = PYTHON_MAX_FRAMES;
	if (bpf_ringbuf_output(&snapshots, &s->rec, PYTHON_STACK_HEADER + count * sizeof(struct python_frame), 0))
		stack_error(STACK_PYTHON_LOST);
}

#endif
