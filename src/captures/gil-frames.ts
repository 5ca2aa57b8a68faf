// CPython's GIL, by the frames that take it back: a wait under one of these
// is a wait for the GIL (lockwait's finding), whatever futex it is, and no
// other kind of wait (a park inside an answer, offcputime's).

/**
 * Taking the GIL back: PyEval_RestoreThread after a call that released it, a new thread's PyEval_AcquireThread,
 * a C thread's PyGILState_Ensure; take_gil where its symbol is known; 3.13's _PyThreadState_Attach.
 */
const GIL_TAKE = /^(take_gil|PyEval_RestoreThread|PyEval_AcquireThread|PyEval_AcquireLock|PyGILState_Ensure|_PyThreadState_Attach)$/;

/** The frame of a stack (stored frames, or named ones) that takes the GIL back, by its name; undefined when none does. */
export function gilTakeFrame(frames: readonly unknown[]): string | undefined {
  for (const f of frames) {
    if (typeof f !== 'object' || f === null) continue;
    const { name, kind } = f as { name?: unknown; kind?: unknown };
    if (kind !== 'kernel' && typeof name === 'string' && GIL_TAKE.test(name)) return name;
  }
  return undefined;
}
