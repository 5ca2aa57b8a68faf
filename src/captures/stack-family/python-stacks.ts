// Python frames for stack captures: tells the kernel walk (map
// "python_procs", bpf/common/python_frames.bpf.h) where each announced
// CPython process keeps its runtime, and turns the frames it sends
// (STACK_RECORD_PYTHON, just before the thread's snapshot) into named
// frames while the process lives (its code objects are read from its memory).
import type { BpfObject } from '../../libbpf/index.js';
import { encodeWalk, findPythonRuntime, nameEvalLoopParts, PythonCodeReader, type PythonFrame } from '../../symbolize/python/index.js';
import { moduleCfi } from '../../unwind/index.js';
import { recordLayout } from '../records.js';

/** struct python_process and struct python_stack / python_frame (bpf/common/python_frames.h). */
export const pythonProcessLayout = recordLayout('python_process', 40, {
  runtime: 0,
  tstate_current: 8,
  interpreters_head: 10,
  interp_threads_head: 12,
  tstate_next: 14,
  tstate_native_thread_id: 16,
  tstate_cframe: 18,
  current_frame: 20,
  frame_code: 22,
  frame_previous: 24,
  frame_instr: 26,
  frame_is_entry: 28,
  frame_owner: 30,
});
export const pythonStackLayout = recordLayout('python_stack', 24 + 128 * 24, { type: 0, tid: 4, tgid: 8, count: 12, flags: 16, frames: 24 }, { frames: 128 });
export const pythonFrameLayout = recordLayout('python_frame', 24, { code: 0, instr: 8, is_entry: 16, owner: 17 });

/** What a stack capture with snapshots shares with the kernel for Python (its `records`). */
export const pythonLayouts = [pythonProcessLayout, pythonStackLayout, pythonFrameLayout];

const TRUNCATED = 1;
const STACK_PYTHON_NO_THREAD = 6;
const STACK_PYTHON_LOST = 7;
const READ_FAULT = 2;
/** 3.14's f_executable is a _PyStackRef with tag bits below the pointer (Py_TAG_BITS); objects are aligned past them. */
const STACKREF_TAGS = 3n;

/** How Python processes were walked (in UnwindSummary). */
export interface PythonSummary {
  /** Processes running a CPython whose frames are walked, by pid: "3.11 /usr/bin/python3.11". */
  processes: Record<string, string>;
  /** Python processes whose frames cannot be walked, and why (an unknown version, an unreadable module). */
  unsupported: Record<string, string>;
  /** Samples (or blocks) that came with Python frames, and the frames. */
  samples: number;
  frames: number;
  /** Frames whose code object could not be read (process gone): drawn as "[python code unreadable]". */
  unreadable: number;
  /** Walks cut at the kernel's frame bound, or stopped at a frame it could not read. */
  truncated: number;
  faults: number;
  /** Samples whose Python frames the ring buffer had no room for (their native frames kept). */
  lost: number;
  /** Samples of a Python process's thread with no thread state (a native thread, or not yet started). */
  noThreadState: number;
}

/** The raw frames of one record: innermost first. */
export interface RawPythonStack {
  frames: { code: bigint; instr: bigint; entry: boolean; owner: number }[];
  flags: number;
}

export class PythonStacks {
  private readonly readers = new Map<number, PythonCodeReader>();
  private readonly registered = new Map<number, bigint>();
  private readonly shimOwners = new Map<number, number | undefined>();
  private readonly counts: PythonSummary = {
    processes: {},
    unsupported: {},
    samples: 0,
    frames: 0,
    unreadable: 0,
    truncated: 0,
    faults: 0,
    lost: 0,
    noThreadState: 0,
  };

  constructor(private readonly object: BpfObject) {}

  /** A process was announced (or again, after an exec): is it CPython, and which? */
  noted(pid: number): void {
    const found = findPythonRuntime(pid);
    if (!found?.found && this.registered.has(pid)) this.forget(pid); // an exec into something else
    if (!found) return;
    // Its native frames name the eval loop wherever it runs, walked or not.
    if (found.evalLoop) nameEvalLoopParts(found.evalLoop.elf, found.evalLoop.entry, moduleCfi(found.evalLoop.elf));
    if (!found.found) {
      this.counts.unsupported[pid] = found.problem;
      return;
    }
    if (this.registered.get(pid) === found.runtime) return;
    const key = Buffer.alloc(4);
    key.writeUInt32LE(pid);
    try {
      this.object.map('python_procs').update(key, encodeWalk(found.runtime, found.layout.walk));
    } catch (err) {
      this.counts.unsupported[pid] = `python_procs: ${(err as Error).message}`;
      return;
    }
    this.registered.set(pid, found.runtime);
    this.readers.get(pid)?.close();
    this.readers.set(pid, new PythonCodeReader(pid, found.layout.code));
    this.shimOwners.set(pid, found.layout.shimOwner);
    this.counts.processes[pid] = `${found.version} ${found.module}`;
  }

  private forget(pid: number): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(pid);
    try {
      this.object.map('python_procs').delete(key);
    } catch {
      // already gone
    }
    this.registered.delete(pid);
    this.readers.get(pid)?.close();
    this.readers.delete(pid);
    this.shimOwners.delete(pid);
  }

  /** The counts so far, with the kernel's (enum stack_error STACK_PYTHON_NO_THREAD, _LOST). */
  get summary(): PythonSummary {
    const map = this.object.map('stack_errors');
    const sum = (slot: number) => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(slot);
      const value = map.lookup(key);
      return value ? map.perCpuValues(value).reduce((a, v) => a + Number(v.readBigUInt64LE(0)), 0) : 0;
    };
    return { ...this.counts, noThreadState: sum(STACK_PYTHON_NO_THREAD), lost: sum(STACK_PYTHON_LOST) };
  }

  /** A STACK_RECORD_PYTHON record: its thread and raw frames. */
  decode(data: Buffer): { tid: number; tgid: number; stack: RawPythonStack } {
    const L = pythonStackLayout.offsets;
    const count = Math.min(data.readUInt32LE(L.count), pythonStackLayout.lengths.frames, Math.floor((data.length - L.frames) / pythonFrameLayout.size));
    const frames: RawPythonStack['frames'] = [];
    for (let i = 0; i < count; i++) {
      const at = L.frames + i * pythonFrameLayout.size;
      frames.push({
        code: data.readBigUInt64LE(at + pythonFrameLayout.offsets.code) & ~STACKREF_TAGS,
        instr: data.readBigUInt64LE(at + pythonFrameLayout.offsets.instr),
        entry: data[at + pythonFrameLayout.offsets.is_entry] !== 0,
        owner: data[at + pythonFrameLayout.offsets.owner]!,
      });
    }
    return { tid: data.readUInt32LE(L.tid), tgid: data.readUInt32LE(L.tgid), stack: { frames, flags: data.readUInt32LE(L.flags) } };
  }

  /** Names, files and lines of a sample's Python frames, read now from the process. */
  resolve(pid: number, raw: RawPythonStack): PythonFrame[] {
    const reader = this.readers.get(pid);
    if (!reader) return [];
    this.counts.samples++;
    if (raw.flags & TRUNCATED) this.counts.truncated++;
    if (raw.flags & READ_FAULT) this.counts.faults++;
    const shimOwner = this.shimOwners.get(pid);
    const out: PythonFrame[] = [];
    for (const f of raw.frames) {
      if (shimOwner !== undefined && f.owner >= shimOwner) {
        // An eval loop's entry shim (3.12+), not a function: the frame inside it is where a C call entered Python.
        const inner = out[out.length - 1];
        if (inner) inner.entry = true;
        continue;
      }
      this.counts.frames++;
      const info = f.code ? readFrame(reader, f.code, f.instr) : undefined;
      if (!info) this.counts.unreadable++;
      out.push(
        info
          ? { name: info.name, file: info.file, line: info.line, entry: f.entry }
          : { name: '[python code unreadable]', file: '?', line: undefined, entry: f.entry },
      );
    }
    return out;
  }

  close(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}

/** A frame's code read from another process's memory, which may change under the read: a bad read is an unreadable frame, never an error. */
function readFrame(reader: PythonCodeReader, code: bigint, instr: bigint): ReturnType<PythonCodeReader['frame']> {
  try {
    return reader.frame(code, instr);
  } catch {
    return undefined;
  }
}
