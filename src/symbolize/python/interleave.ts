// Puts a sample's Python frames in place of the interpreter's eval-loop
// frames, as py-spy --native does: each _PyEval_EvalFrameDefault call runs
// the Python frames from the innermost one up to the first marked as its
// entry, so the Python stack splits into one group per eval-loop frame and
// native frames between them (C extensions, builtins) stay where they are.
import type { Frame } from '../types.js';

/** A Python frame as the sample's record gives it, resolved; leaf first in a stack. */
export interface PythonFrame {
  name: string;
  file: string;
  line: number | undefined;
  /** The outermost frame of one eval-loop call. */
  entry: boolean;
}

/** Native functions that run Python frames. */
const EVAL_LOOP = new Set(['_PyEval_EvalFrameDefault']);

export function pythonFrame(f: PythonFrame): Frame {
  const slash = f.file.lastIndexOf('/');
  return { name: f.name, kind: 'user', module: f.file.slice(slash + 1) || f.file, file: f.file, ...(f.line !== undefined ? { line: f.line } : {}) };
}

/** `native` root first; `python` leaf first (as read). Returns root first. */
export function interleavePython(native: Frame[], python: PythonFrame[]): Frame[] {
  if (!python.length) return native;
  // Groups, innermost eval call first, each root first.
  const groups: Frame[][] = [];
  let group: Frame[] = [];
  for (const f of python) {
    group.unshift(pythonFrame(f));
    if (f.entry) {
      groups.push(group);
      group = [];
    }
  }
  if (group.length) groups.push(group);

  const out: Frame[] = [];
  let next = 0;
  for (let i = native.length - 1; i >= 0; i--) {
    const f = native[i]!;
    if (EVAL_LOOP.has(f.name) && next < groups.length) out.unshift(...groups[next++]!);
    else out.unshift(f);
  }
  if (next < groups.length) {
    // The native walk stopped short of the outer eval loops: their Python frames go above
    // it, below the label that says why it stopped.
    let at = 0;
    while (at < out.length && out[at]!.kind === 'unknown' && out[at]!.name.startsWith('[')) at++;
    const rest = groups.slice(next).reverse().flat();
    out.splice(at, 0, ...rest);
  }
  return out;
}
