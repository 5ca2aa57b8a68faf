// A CPython process's threads and their Python frames now, read from its
// memory: the walk bpf/common/python_frames.bpf.h does at a sample, for
// threads that do not run (a hung server's, asleep since before the window),
// whose frames no sample will ever carry. Innermost first, as a sample's.
import { ProcessMemory } from '../process-memory.js';
import { PythonCodeReader } from './code-objects.js';
import type { PythonFrame } from './interleave.js';
import { findPythonRuntime } from './runtime.js';

/** Threads and frames per thread read at most (PYTHON_MAX_THREADS and _FRAMES in the kernel's walk). */
const MAX_THREADS = 1024;
const MAX_FRAMES = 128;
/** 3.14 tags a frame's executable pointer in its low bits. */
const STACKREF_TAGS = 3n;

/** Python frames by thread id, innermost first; empty when pid runs no CPython this can walk. */
export function pythonThreadFrames(pid: number): Map<number, PythonFrame[]> {
  const frames = new Map<number, PythonFrame[]>();
  const found = findPythonRuntime(pid);
  if (!found?.found) return frames;
  const { walk, code, shimOwner } = found.layout;
  const memory = new ProcessMemory(pid);
  const reader = new PythonCodeReader(pid, code);
  const ptr = (addr: bigint) => (addr ? (memory.read(addr, 8)?.readBigUInt64LE(0) ?? 0n) : 0n);
  const byte = (addr: bigint) => memory.read(addr, 1)?.[0] ?? 0;
  try {
    let tstate = ptr(ptr(found.runtime + BigInt(walk.interpretersHead)) + BigInt(walk.interpThreadsHead));
    for (let t = 0; tstate && t < MAX_THREADS; t++, tstate = ptr(tstate + BigInt(walk.tstateNext))) {
      const tid = Number(ptr(tstate + BigInt(walk.tstateNativeThreadId)));
      let frame =
        walk.tstateCframe !== undefined ? ptr(ptr(tstate + BigInt(walk.tstateCframe)) + BigInt(walk.currentFrame)) : ptr(tstate + BigInt(walk.currentFrame));
      const out: PythonFrame[] = [];
      for (let n = 0; frame && n < MAX_FRAMES; n++, frame = ptr(frame + BigInt(walk.framePrevious))) {
        const entry = walk.frameIsEntry !== undefined && byte(frame + BigInt(walk.frameIsEntry)) !== 0;
        if (shimOwner !== undefined && byte(frame + BigInt(walk.frameOwner)) >= shimOwner) {
          // An eval loop's entry shim (3.12+): the frame inside it is where a C call entered Python.
          const inner = out[out.length - 1];
          if (inner) inner.entry = true;
          continue;
        }
        const info = readFrame(reader, ptr(frame + BigInt(walk.frameCode)) & ~STACKREF_TAGS, ptr(frame + BigInt(walk.frameInstr)));
        out.push(info ? { ...info, entry } : { name: '[python code unreadable]', file: '?', line: undefined, entry });
      }
      if (tid) frames.set(tid, out);
    }
  } finally {
    reader.close();
    memory.close();
  }
  return frames;
}

/** A frame's code, read while the process runs on: a bad read is an unreadable frame, never an error. */
function readFrame(reader: PythonCodeReader, code: bigint, instr: bigint) {
  try {
    return code ? reader.frame(code, instr) : undefined;
  } catch {
    return undefined;
  }
}
