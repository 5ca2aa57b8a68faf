// User stacks sent as snapshots (registers + a copy of the stack, ring buffer
// "snapshots", struct stack_snapshot in bpf/common/stacks.h) are unwound here
// as they arrive, while the process lives, and counted by the frames they
// unwind to: stacks dedup by their unwound addresses, not by a kernel hash.
// A START record (offcputime's switch-out) waits for its END (switch-in) by
// thread id; a thread has at most one block open, so pending is bounded by
// the threads seen.
import { RingBufferReader, type BpfObject } from '../../libbpf/index.js';
import type { SherlockSymbolizer } from '../../symbolize/index.js';
import { moduleCfi, UnwindMemo, type CodeLocation, type UnwindEnd, type UnwoundStack } from '../../unwind/index.js';
import type { PythonFrame } from '../../symbolize/python/index.js';
import { cString, recordLayout } from '../records.js';
import type { PythonStacks, PythonSummary } from './python-stacks.js';
import { jsFrameKey, type JsFrames, type JsStacks, type JsSummary } from './js-stacks.js';
import { SNAPSHOT_SLOTS, type CountedStack, type StackKey } from './stack-maps.js';

/** struct stack_snapshot / struct stack_end (bpf/common/stacks.h). */
export const snapshotLayout = {
  type: 0,
  tgid: 4,
  tid: 8,
  kernelStackId: 12,
  value: 16,
  ip: 24,
  sp: 32,
  bp: 40,
  size: 48,
  flags: 52,
  comm: 56,
  commLen: 16,
  group: 72,
  data: 80,
} as const;
export const endLayout = { type: 0, tid: 4, value: 8, size: 16 } as const;

/** The copy starts STACK_BELOW_SP under sp (STACK_SNAPSHOT_BELOW_SP, bpf/common/stacks.h). */
const SNAPSHOT_BELOW_SP = 1;
const BELOW_SP = 128n;

const RECORD_SAMPLE = 1;
const RECORD_START = 2;
const RECORD_END = 3;
const RECORD_PYTHON = 4;
/** struct stack_repeat: a block at the place of one of its thread's STARTs (offcputime: no copy sent), by slot. */
const RECORD_REPEAT = 5;
export const repeatLayout = recordLayout('stack_repeat', 24, { type: 0, tid: 4, value: 8, slot: 16 });

/** How the user stacks of a capture were walked: samples by how their walk ended, and why some could not be. */
export interface UnwindSummary {
  /** Samples (or blocks) whose user stack was unwound from a snapshot. */
  snapshots: number;
  /** By how the walk ended: root (reached the thread's entry), depth, snapshot (copy too small), unmapped, no-unwind-info, bad-frame. */
  ends: Partial<Record<UnwindEnd, number>>;
  /** Walks stopped in a module without unwind information (or unreadable), by module. */
  noUnwindInfo: Record<string, number>;
  /** Addresses outside every mapping, dropped (never drawn). */
  unmappedDropped: number;
  /** Frames unwound by frame pointers (no CFI for them: JIT code, modules without CFI). */
  framePointerFrames: number;
  /** Frames unwound in all. */
  frames: number;
  /** Snapshots dropped because too many waited to be unwound. */
  queueDropped: number;
  /** Ends whose start was never seen (its snapshot was lost). */
  unmatched: number;
  /** Blocks counted as their thread's last snapshot, at its very place (offcputime: no copy sent). */
  repeated: number;
  /** Blocks still open when the capture ended (not counted, as without snapshots). */
  openAtEnd: number;
  /** Bytes of the stack copy asked per sample, and the unwind depth bound. */
  snapshotBytes: number;
  maxDepth: number;
  /** Python processes and their frames (absent: no Python process was sampled). */
  python?: PythonSummary;
  /** V8 processes and their JavaScript frames (absent: none was sampled). */
  js?: JsSummary;
}

/** A record waiting to be unwound, with the Python frames named when it was drained. */
interface Queued {
  data: Buffer;
  python?: PythonFrame[];
  /** A START dropped (too many queued): its slot no longer holds what the kernel's repeats of it mean. */
  dropped?: boolean;
}

interface Unwound {
  key: StackKey;
  unwound: UnwoundStack;
  /** The thread's Python frames at the sample, innermost first. */
  python?: PythonFrame[];
  /** The JavaScript functions of its frames, by index in unwound.ips. */
  js?: JsFrames;
  /** The record's group (a capture's key besides the stack, 0n: none). */
  group: bigint;
}

/** Above this an address is not user space (x86-64 with 5-level paging tops out at 2^56). */
const MAX_USER_ADDRESS = 1n << 56n;
/** Snapshots waiting to be unwound, at most (past it they are dropped and counted). */
const MAX_QUEUED_BYTES = 256 << 20;
/** Unwinding time per poll tick; the rest waits for the next tick (or the end). */
const POLL_BUDGET_MS = 25;

export interface SnapshotCounter<V> {
  poll(): void;
  /** Unwinds everything still queued. */
  finish(): void;
  /** Counts the blocks still open when the window ended (their START came, their END never will), by thread. */
  /** repeatSlots: the threads whose open block repeats one of their STARTs, by its slot. */
  closeOpen(values: Map<number, V>, repeatSlots?: Map<number, number>): void;
  /** Counted stacks so far, each with its unwound user addresses. */
  counted(): CountedStack<V>[];
  summary(): UnwindSummary;
  close(): void;
}

export interface SnapshotOptions<V> {
  snapshotBytes: number;
  maxDepth: number;
  /** The value of one SAMPLE, or of one END (the record's value field). */
  valueOf(recordValue: number): V;
  add(into: V, from: V): V;
  /** Most threads with a block open at once (offcputime's maxThreads). */
  maxPending: number;
  /** A snapshot's group is the thread its stack counts by (offcputime's timed sleeps: the key's thread). */
  groupIsThread?: boolean;
  /** Names the Python frames the kernel sends with a snapshot. */
  python?: PythonStacks;
  /** Names the JavaScript frames of V8 processes. */
  js?: JsStacks;
}

/** The Python and JavaScript parts of the summary, when such a process was seen. */
function runtimeParts(python: PythonStacks | undefined, js: JsStacks | undefined): { python?: PythonSummary; js?: JsSummary } {
  const py = python?.summary;
  const v8 = js?.summary;
  return {
    ...(py && (py.samples || Object.keys(py.unsupported).length) ? { python: py } : {}),
    ...(v8 && (v8.frames || Object.keys(v8.unsupported).length) ? { js: v8 } : {}),
  };
}

/** Where pid's code addresses are, with their modules' CFI: what an unwind of its stack needs. */
export function codeLocator(symbolizer: SherlockSymbolizer, pid: number): (pc: number) => CodeLocation | undefined {
  return (pc) => {
    const code = symbolizer.codeAt(pid, pc);
    if (!code) return undefined;
    const cfi = code.elf ? moduleCfi(code.elf) : undefined;
    return { module: code.module, fileBacked: code.fileBacked, ...(code.vaddr !== undefined ? { vaddr: code.vaddr } : {}), ...(cfi ? { cfi } : {}) };
  };
}

export function countSnapshots<V>(object: BpfObject, symbolizer: SherlockSymbolizer, options: SnapshotOptions<V>): SnapshotCounter<V> {
  const reader = new RingBufferReader(object.map('snapshots'));
  const counts = new Map<
    string,
    { key: StackKey; group: bigint; ips: bigint[]; end: UnwindEnd; endModule?: string; python?: PythonFrame[]; js?: JsFrames; value: V }
  >();
  /** Python frames by thread, named as they are drained, waiting for that thread's snapshot (the next record of it). */
  const pythonByTid = new Map<number, PythonFrame[]>();
  const pending = new Map<number, Unwound>();
  /** Each thread's latest START, which its REPEATs count as. */
  const startSlots = new Map<number, (Unwound | undefined)[]>();
  /** A thread's START in a slot (the START's value), or none: a repeat of it is then not counted. */
  const setSlot = (tid: number, slot: number, unwound: Unwound | undefined) => {
    let slots = startSlots.get(tid);
    if (!slots) {
      if (!unwound || startSlots.size >= options.maxPending) return;
      startSlots.set(tid, (slots = []));
    }
    slots[slot % SNAPSHOT_SLOTS] = unwound;
  };
  const summary: UnwindSummary = {
    snapshots: 0,
    ends: {},
    noUnwindInfo: {},
    unmappedDropped: 0,
    framePointerFrames: 0,
    frames: 0,
    queueDropped: 0,
    unmatched: 0,
    repeated: 0,
    openAtEnd: 0,
    snapshotBytes: options.snapshotBytes,
    maxDepth: options.maxDepth,
  };

  const locate = (pid: number) => codeLocator(symbolizer, pid);

  const memo = new UnwindMemo();
  const unwind = (data: Buffer, python: PythonFrame[] | undefined): Unwound => {
    const L = snapshotLayout;
    const size = Math.min(data.readUInt32LE(L.size), data.length - L.data);
    const key: StackKey = {
      tgid: data.readUInt32LE(L.tgid),
      kernelStackId: data.readInt32LE(L.kernelStackId),
      userStackId: -1,
      comm: cString(data, L.comm, L.commLen),
      thread: options.groupIsThread ? Number(data.readBigUInt64LE(L.group)) : 0,
    };
    let unwound: UnwoundStack;
    const sp = data.readBigUInt64LE(L.sp);
    const dataStart = data.readUInt32LE(L.flags) & SNAPSHOT_BELOW_SP ? sp - BELOW_SP : sp;
    const stack = data.subarray(L.data, L.data + size);
    try {
      unwound = memo.unwind(
        key.tgid,
        { ip: data.readBigUInt64LE(L.ip), sp, bp: data.readBigUInt64LE(L.bp), data: stack, dataStart },
        locate(key.tgid),
        options.maxDepth,
      );
    } catch {
      unwound = { ips: [], end: 'bad-frame', framePointerFrames: 0, framePointers: [] };
    }
    const group = data.readBigUInt64LE(L.group);
    const js = options.js?.framesOf(key.tgid, unwound, dataStart, stack);
    return { key, unwound, group, ...(python ? { python } : {}), ...(js ? { js } : {}) };
  };

  const count = ({ key, unwound, group, python, js }: Unwound, value: V) => {
    summary.snapshots++;
    summary.ends[unwound.end] = (summary.ends[unwound.end] ?? 0) + 1;
    if (unwound.end === 'no-unwind-info' && unwound.endModule) summary.noUnwindInfo[unwound.endModule] = (summary.noUnwindInfo[unwound.endModule] ?? 0) + 1;
    if (unwound.end === 'unmapped') summary.unmappedDropped++;
    summary.framePointerFrames += unwound.framePointerFrames;
    summary.frames += unwound.ips.length;
    const py = python?.map((f) => `${f.name}|${f.file}|${f.line ?? ''}|${f.entry ? 1 : 0}`).join(',') ?? '';
    const id = `${key.tgid}\0${key.comm}\0${key.kernelStackId}\0${group}\0${unwound.end}\0${unwound.endModule ?? ''}\0${unwound.ips.join(',')}\0${py}\0${jsFrameKey(js)}`;
    const existing = counts.get(id);
    if (existing) existing.value = options.add(existing.value, value);
    else
      counts.set(id, {
        key,
        group,
        ips: unwound.ips,
        end: unwound.end,
        ...(unwound.endModule ? { endModule: unwound.endModule } : {}),
        ...(python?.length ? { python } : {}),
        ...(js ? { js } : {}),
        value,
      });
  };

  const handle = ({ data, python, dropped }: Queued) => {
    const type = data.readUInt32LE(0);
    if (dropped) {
      summary.queueDropped++;
      setSlot(data.readUInt32LE(snapshotLayout.tid), Number(data.readBigUInt64LE(snapshotLayout.value)), undefined);
      return;
    }
    if (type === RECORD_SAMPLE) {
      count(unwind(data, python), options.valueOf(Number(data.readBigUInt64LE(snapshotLayout.value))));
    } else if (type === RECORD_START) {
      const tid = data.readUInt32LE(snapshotLayout.tid);
      const slot = Number(data.readBigUInt64LE(snapshotLayout.value));
      pending.delete(tid); // an earlier block of this thread was too short to count
      if (pending.size >= options.maxPending) {
        summary.unmatched++;
        setSlot(tid, slot, undefined);
        return;
      }
      const unwound = unwind(data, python);
      pending.set(tid, unwound);
      setSlot(tid, slot, unwound);
    } else if (type === RECORD_REPEAT && data.length >= repeatLayout.size) {
      const repeated = startSlots.get(data.readUInt32LE(repeatLayout.offsets.tid))?.[data.readUInt32LE(repeatLayout.offsets.slot) % SNAPSHOT_SLOTS];
      if (!repeated) {
        summary.unmatched++;
        return;
      }
      summary.repeated++;
      count(repeated, options.valueOf(Number(data.readBigUInt64LE(repeatLayout.offsets.value))));
    } else if (type === RECORD_END && data.length >= endLayout.size) {
      const tid = data.readUInt32LE(endLayout.tid);
      const started = pending.get(tid);
      if (!started) {
        summary.unmatched++;
        return;
      }
      pending.delete(tid);
      count(started, options.valueOf(Number(data.readBigUInt64LE(endLayout.value))));
    }
  };

  // The ring buffer is drained whole every tick (copies), and unwound within a time budget:
  // a first sight of a large binary (parsing its CFI) must not let the ring buffer overflow.
  // Python frames are named as they are drained, not when unwound: code objects are read from
  // the process's memory, which must still be there.
  const queue: Queued[] = [];
  let queuedBytes = 0;
  const drain = () =>
    reader.drain((data) => {
      const type = data.readUInt32LE(0);
      if (type === RECORD_PYTHON) {
        if (!options.python) return;
        const { tid, tgid, stack } = options.python.decode(data);
        pythonByTid.set(tid, options.python.resolve(tgid, stack));
        if (pythonByTid.size > 65_536) pythonByTid.clear(); // snapshots lost: nothing will claim them
        return;
      }
      let python: PythonFrame[] | undefined;
      if (type === RECORD_SAMPLE || type === RECORD_START) {
        // The unwind may come later, after the process exited: its maps must hold this code now.
        const ip = data.readBigUInt64LE(snapshotLayout.ip);
        if (ip && ip <= MAX_USER_ADDRESS) symbolizer.noteCode(data.readUInt32LE(snapshotLayout.tgid), Number(ip));
        const tid = data.readUInt32LE(snapshotLayout.tid);
        python = pythonByTid.get(tid);
        pythonByTid.delete(tid);
      }
      if (queuedBytes + data.length > MAX_QUEUED_BYTES) {
        // In order with the rest: a START's slot is forgotten after the records queued before it.
        if (type === RECORD_START) queue.push({ data: Buffer.from(data.subarray(0, snapshotLayout.data)), dropped: true });
        else summary.queueDropped++;
        return;
      }
      queue.push(python ? { data: Buffer.from(data), python } : { data: Buffer.from(data) });
      queuedBytes += data.length;
    });
  const work = (budgetMs: number) => {
    const until = Date.now() + budgetMs;
    let i = 0;
    while (i < queue.length && Date.now() < until) {
      const item = queue[i++]!;
      queuedBytes -= item.data.length;
      handle(item);
    }
    queue.splice(0, i);
  };

  return {
    poll: () => {
      drain();
      work(POLL_BUDGET_MS);
    },
    finish: () => {
      drain();
      work(Infinity);
    },
    closeOpen: (values, repeatSlots) => {
      for (const [tid, value] of values) {
        // A block open since its START, or one repeating a START of its thread.
        const slot = repeatSlots?.get(tid);
        const open = slot === undefined ? pending.get(tid) : startSlots.get(tid)?.[slot];
        if (!open) continue; // its START was dropped (counted as unmatched then)
        pending.delete(tid);
        count(open, value);
      }
    },
    counted: () =>
      [...counts.values()].map((c) => ({
        key: c.key,
        value: c.value,
        ...(c.group ? { group: c.group } : {}),
        user: {
          ips: c.ips,
          end: c.end,
          ...(c.endModule ? { endModule: c.endModule } : {}),
          ...(c.python ? { python: c.python } : {}),
          ...(c.js ? { js: c.js } : {}),
        },
      })),
    summary: () => ({
      ...summary,
      openAtEnd: pending.size,
      ...runtimeParts(options.python, options.js),
    }),
    close: () => reader.close(),
  };
}
