/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Python frames of a sampled thread, read in the kernel at the sample (the
 * interpreter's frame chain changes faster than user space could follow):
 * what crosses to user space. Decoded by src/captures/stack-family/
 * python-stacks.ts; the layouts of each CPython version are in
 * src/symbolize/python/layouts.ts. Keep them in step. */
#ifndef SHERLOCK_PYTHON_FRAMES_H
#define SHERLOCK_PYTHON_FRAMES_H

#include "sherlock.h"

/* Most Python frames walked per sample (a deeper stack is cut, and flagged). */
#define PYTHON_MAX_FRAMES 128
/* A field offset that the version does not have. */
#define PYTHON_NO_FIELD 0xffff
/* Bytes of one frame read at once: every field offset used is below this. */
#define PYTHON_FRAME_READ 96

/* Value of the map "python_procs" (key: tgid): where the interpreter's
 * runtime state is in the process and the field offsets of its version. */
struct python_process {
	__u64 runtime;               /* address of _PyRuntime */
	__u16 tstate_current;        /* _PyRuntime.gilstate.tstate_current (PYTHON_NO_FIELD: none) */
	__u16 interpreters_head;     /* _PyRuntime.interpreters.head */
	__u16 interp_threads_head;   /* PyInterpreterState.threads.head */
	__u16 tstate_next;           /* PyThreadState.next */
	__u16 tstate_native_thread_id; /* PyThreadState.native_thread_id (the thread's tid) */
	__u16 tstate_cframe;         /* PyThreadState.cframe (PYTHON_NO_FIELD: the frame is in the thread state) */
	__u16 current_frame;         /* _PyCFrame.current_frame, or PyThreadState.current_frame */
	__u16 frame_code;            /* _PyInterpreterFrame.f_code (3.11), f_executable (3.13+; 3.14 tags its low bits) */
	__u16 frame_previous;        /* _PyInterpreterFrame.previous */
	__u16 frame_instr;           /* _PyInterpreterFrame.prev_instr (3.11), instr_ptr (3.13+) */
	__u16 frame_is_entry;        /* _PyInterpreterFrame.is_entry (PYTHON_NO_FIELD: none) */
	__u16 frame_owner;           /* _PyInterpreterFrame.owner (3.12+: entry shims are owned by the C stack) */
	__u32 pad;
};

struct python_frame {
	__u64 code;  /* the code object */
	__u64 instr; /* the frame's instruction pointer (prev_instr, instr_ptr) */
	__u8 is_entry;
	__u8 owner;
	__u8 pad[6];
};

enum python_stack_flags {
	PYTHON_TRUNCATED = 1,    /* more than PYTHON_MAX_FRAMES frames */
	PYTHON_READ_FAULT = 2,   /* a frame could not be read (the walk stopped there) */
};

/* Ring buffer "snapshots", record type STACK_RECORD_PYTHON: sent just before
 * the snapshot of the same thread. frames[0] is the innermost frame. */
struct python_stack {
	__u32 type; /* STACK_RECORD_PYTHON */
	__u32 tid;
	__u32 tgid;
	__u32 count;
	__u32 flags;
	__u32 pad;
	struct python_frame frames[PYTHON_MAX_FRAMES];
};

#define PYTHON_STACK_HEADER 24 /* offsetof(struct python_stack, frames) */

#endif
