// JavaScript frames for stack captures: in a V8 process (node) the frames the
// unwinder stepped by frame pointer (JIT code, the interpreter's trampoline)
// are named by the JSFunction each keeps below its frame pointer: read from
// the sample's stack copy, resolved in the process's memory while it lives
// (src/symbolize/v8). Without it they are "[JIT code]" unless the process was
// started with --perf-basic-prof, which no one in an incident can add.
import { findV8Runtime, V8Functions, type JsFunction } from '../../symbolize/v8/index.js';
import type { UnwoundStack } from '../../unwind/index.js';

/** How V8 processes' frames were named (in UnwindSummary). */
export interface JsSummary {
  /** Processes whose JavaScript frames are named, by pid: the module that embeds V8. */
  processes: Record<string, string>;
  /** V8 processes whose frames cannot be named, and why (compressed pointers, constants missing). */
  unsupported: Record<string, string>;
  /** Frames named after their JavaScript function. */
  frames: number;
}

/** The module of a frame whose function has no script: one of V8's own (RegExp.prototype.test, Array.prototype.map). */
export const V8_BUILTIN_MODULE = '[V8 builtin]';

/** By frame index (leaf first, as the unwound addresses); holes where a frame is no JavaScript one. */
export type JsFrames = (JsFunction | undefined)[];

export class JsStacks {
  /** By pid: its reader, or null when it runs no V8 we read. */
  private readonly readers = new Map<number, V8Functions | null>();
  readonly summary: JsSummary = { processes: {}, unsupported: {}, frames: 0 };

  /** The JavaScript functions of one unwound stack, or undefined when it has none; `stack` is the sample's copy, from `dataStart`. */
  framesOf(tgid: number, unwound: UnwoundStack, dataStart: bigint, stack: Buffer): JsFrames | undefined {
    if (!unwound.framePointerFrames) return undefined;
    const reader = this.readerOf(tgid);
    if (!reader) return undefined;
    const base = Number(dataStart);
    const stackWord = (address: number) => {
      const off = address - base;
      return off >= 0 && off + 8 <= stack.length ? stack.readBigUInt64LE(off) : undefined;
    };
    let frames: JsFrames | undefined;
    unwound.framePointers.forEach((fp, i) => {
      const fn = fp === undefined ? undefined : reader.functionAt(fp, stackWord);
      if (!fn) return;
      (frames ??= [])[i] = fn;
      this.summary.frames++;
    });
    return frames;
  }

  close(): void {
    for (const reader of this.readers.values()) reader?.close();
    this.readers.clear();
  }

  private readerOf(pid: number): V8Functions | null {
    let reader = this.readers.get(pid);
    if (reader !== undefined) return reader;
    const runtime = findV8Runtime(pid);
    reader = null;
    if (runtime?.found) {
      reader = new V8Functions(pid, runtime.layout);
      this.summary.processes[pid] = runtime.module;
    } else if (runtime) this.summary.unsupported[pid] = runtime.problem;
    this.readers.set(pid, reader);
    return reader;
  }
}

/** A frame's identity in a stack's key. */
export const jsFrameKey = (frames: JsFrames | undefined): string => frames?.map((f) => (f ? `${f.name}|${f.file ?? ''}|${f.line ?? ''}` : '')).join(',') ?? '';
