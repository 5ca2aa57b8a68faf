// The user-space half of the stack captures (profile, offcputime): both
// count in a hash keyed by {tgid, kernel stack id, user stack id, comm}
// (bpf/common/stacks.h, with the maps in bpf/common/stacks.bpf.h), keep
// the stacks in a stack-trace map "stacks", and announce each process with a
// user stack on the ring buffer "new_tgids" so its mappings are read while
// it lives. This file reads those maps and turns them into StackSamples.
import { existsSync } from 'node:fs';
import { RingBufferReader, type BpfMap, type BpfObject } from '../../libbpf/index.js';
import type { StackSample } from '../../stacks/types.js';
import { demangleAll } from '../../symbolize/demangle.js';
import { perfMapCandidates, processStartMs } from '../../symbolize/perf-map.js';
import { originOf, rememberOrigin } from '../../symbolize/frame-origin.js';
import { interleavePython, type PythonFrame } from '../../symbolize/python/index.js';
import { jsFrameKey, V8_BUILTIN_MODULE, type JsFrames } from './js-stacks.js';
import type { Frame, Symbolizer } from '../../symbolize/types.js';
import type { UnwindEnd } from '../../unwind/index.js';
import { cString, recordLayout } from '../records.js';
import { readText } from '../../util/read-text.js';

/** struct stack_key (bpf/common/stacks.h). */
export const stackKeyLayout = recordLayout('stack_key', 32, { tgid: 0, kernel_stack_id: 4, user_stack_id: 8, thread: 12, comm: 16 }, { comm: 16 });
/** struct stack_new_tgid: a process to read the mappings of (ring buffer "new_tgids"). */
export const newTgidLayout = recordLayout('stack_new_tgid', 8, { tgid: 0 });

/** bpf_get_stackid errors kept in a key instead of an id. */
// -EFAULT (-14): no such stack (a kernel thread's user stack, a user-mode sample's kernel stack): absent, not lost.
const EEXIST = -17; // stack map bucket taken by another stack
const ENOMEM = -12; // stack map full
/** STACK_ID_SNAPSHOT (bpf/common/stacks.h): the user stack went to user space as a snapshot. */
export const STACK_ID_SNAPSHOT = -1000;
/** STACK_SNAPSHOT_SLOTS: a thread's last snapshots a block may repeat (offcputime; a START's value is its slot). */
export const SNAPSHOT_SLOTS = 4;

/** The slot of the snapshot a block repeats, when its user stack id is STACK_ID_REPEAT(slot). */
export function repeatSlotOf(userStackId: number): number | undefined {
  const slot = -1002 - userStackId;
  return slot >= 0 && slot < SNAPSHOT_SLOTS ? slot : undefined;
}

/** STACK_ID_EPOLL_WAIT: a wait timed at its syscall's exit, whose kernel stack is where epoll_wait sleeps. */
const EPOLL_WAIT = -1001;
const EPOLL_WAIT_FRAMES: Frame[] = [
  { name: 'do_epoll_wait', kind: 'kernel' },
  { name: 'ep_poll', kind: 'kernel' },
];

export interface StackKey {
  tgid: number;
  kernelStackId: number;
  userStackId: number;
  comm: string;
  /** The thread, where the capture counts a stack by thread too (offcputime's timed sleeps); else 0. */
  thread: number;
}

export function decodeStackKey(data: Buffer): StackKey {
  const O = stackKeyLayout.offsets;
  return {
    tgid: data.readUInt32LE(O.tgid),
    kernelStackId: data.readInt32LE(O.kernel_stack_id),
    userStackId: data.readInt32LE(O.user_stack_id),
    comm: cString(data, O.comm, stackKeyLayout.lengths.comm),
    thread: data.readUInt32LE(O.thread),
  };
}

/** A stack id that is an error the stack map could not store (the stack was lost). */
export const isLostStack = (id: number): boolean => id === EEXIST || id === ENOMEM;

/** Stacks lost, by half and reason (map "stack_errors", enum stack_error in bpf/common/stacks.h). */
export interface LostStacks {
  /** The stack map was full (-ENOMEM). */
  kernel: number;
  user: number;
  /** The stack's hash bucket held another stack (-EEXIST): raise stackMapEntries to make this rarer. */
  kernelCollisions?: number;
  userCollisions?: number;
  /** Snapshots the ring buffer had no room for (the sample or block is lost whole). */
  snapshots?: number;
  /** Snapshots whose user stack could not be read at all (sent without stack). */
  snapshotFaults?: number;
}

export const lostStackTotal = (l: LostStacks): number => l.kernel + l.user + (l.kernelCollisions ?? 0) + (l.userCollisions ?? 0) + (l.snapshots ?? 0);

export function readLostStacks(object: BpfObject): LostStacks {
  const map = object.map('stack_errors');
  const sum = (slot: number) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(slot);
    const value = map.lookup(key);
    return value ? map.perCpuValues(value).reduce((a, v) => a + Number(v.readBigUInt64LE(0)), 0) : 0;
  };
  return { kernel: sum(0), user: sum(1), kernelCollisions: sum(2), userCollisions: sum(3), snapshots: sum(4), snapshotFaults: sum(5) };
}

/** What lost stacks cost, for a capture's text: "3 stacks lost (2 stack map full, 1 hash collision)". */
export function describeLost(l: LostStacks): string {
  const full = l.kernel + l.user;
  const collisions = (l.kernelCollisions ?? 0) + (l.userCollisions ?? 0);
  const parts = [
    full && `${full} stack map full (raise --stack-map-entries)`,
    collisions && `${collisions} hash collisions in the stack map`,
    l.snapshots && `${l.snapshots} snapshots lost: ring buffer full (raise --snapshot-buffer-bytes)`,
  ].filter(Boolean);
  return parts.length ? `${lostStackTotal(l)} stacks lost (${parts.join(', ')})` : '';
}

/** One stack-trace map entry: addresses, leaf first (the map zero-fills past the last). */
export function readStack(map: BpfMap, id: number): bigint[] | undefined {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(id);
  const value = map.lookup(key);
  if (!value) return undefined;
  const ips: bigint[] = [];
  for (let off = 0; off + 8 <= value.length; off += 8) {
    const ip = value.readBigUInt64LE(off);
    if (ip === 0n) break;
    ips.push(ip);
  }
  return ips;
}

/** How often processes with a perf map (JIT code) are re-read while the capture runs. */
const JIT_REFRESH_MS = 500;
/** At most this many perf-map processes re-read per refresh. */
const JIT_REFRESH_MAX = 64;
/** The symbolizer re-reads a noted process at most this often (src/symbolize USER_REFRESH_MS), plus a margin. */
const RENOTE_AFTER_MS = 300;
/** A process first seen younger than this is still mapping its libraries (and a JIT its code heap)... */
const YOUNG_PROCESS_MS = 3000;
/** ...so it is noted again this long after the first note, and again after each next delay. */
const YOUNG_FOLLOW_UPS_MS = [300, 1000, 3000];

/**
 * Drains "new_tgids" every tick and notes each announced process with the
 * symbolizer (its maps and perf map are read now, while it lives).
 *
 * A process is announced again after an exec (a new image under the same
 * pid); the symbolizer ignores a note that comes too soon after the last, so
 * such a note is repeated once RENOTE_AFTER_MS later. A JIT appends to its
 * perf map as it compiles, after the process was first seen: processes that
 * have one are noted again every JIT_REFRESH_MS, so a short-lived one still
 * names its JIT frames after it exits. A process seen while it starts (still in
 * the dynamic loader) is noted again a few times as it maps its libraries.
 */
export class ProcessAnnouncer {
  private readonly reader: RingBufferReader;
  readonly noted = new Set<number>();
  private readonly notedAt = new Map<number, number>();
  private readonly renoteDue = new Map<number, number>();
  private readonly perfMapPaths = new Map<number, string[]>();
  /** Each noted process's name (its main thread's comm), read when first noted: a finding names the process, not a thread. */
  private readonly names = new Map<number, string>();
  /** Young processes: the delays of their follow-up notes still to come. */
  private readonly followUps = new Map<number, number[]>();
  private lastJitRefresh = Date.now();

  constructor(
    object: BpfObject,
    private readonly symbolizer: Symbolizer,
    /** Told after each note (a Python process is registered for the kernel's frame walk). */
    private readonly onNoted?: (pid: number) => void,
  ) {
    this.reader = new RingBufferReader(object.map('new_tgids'));
  }

  poll(): void {
    this.reader.drain((data) => this.announced(data.readUInt32LE(newTgidLayout.offsets.tgid)));
    const now = Date.now();
    for (const [pid, due] of this.renoteDue) {
      if (due > now) continue;
      this.renoteDue.delete(pid);
      this.note(pid, true);
      this.scheduleFollowUp(pid, now);
    }
    if (now - this.lastJitRefresh >= JIT_REFRESH_MS) this.refreshJit(now);
  }

  private announced(pid: number): void {
    const last = this.notedAt.get(pid);
    if (last !== undefined && Date.now() - last < RENOTE_AFTER_MS) {
      this.renoteDue.set(pid, last + RENOTE_AFTER_MS);
      return;
    }
    this.note(pid, true);
  }

  /** The process's name now, or (gone) as it was when first noted. */
  nameOf(pid: number): string | undefined {
    return readText(`/proc/${pid}/comm`)?.trim() || this.names.get(pid);
  }

  /** again: note even if noted before. */
  note(pid: number, again = false): void {
    if (!pid || (!again && this.noted.has(pid))) return;
    if (!this.noted.has(pid)) {
      this.noted.add(pid);
      this.perfMapPaths.set(pid, perfMapCandidates(pid));
      const name = readText(`/proc/${pid}/comm`)?.trim();
      if (name) this.names.set(pid, name);
      const startedMs = processStartMs(pid);
      if (startedMs && Date.now() - startedMs < YOUNG_PROCESS_MS) {
        this.followUps.set(pid, [...YOUNG_FOLLOW_UPS_MS]);
        this.scheduleFollowUp(pid, Date.now());
      }
    }
    this.notedAt.set(pid, Date.now());
    try {
      this.symbolizer.notePid(pid);
      this.onNoted?.(pid);
    } catch {
      // gone already: its frames show as module+offset
    }
  }

  private scheduleFollowUp(pid: number, now: number): void {
    const delay = this.followUps.get(pid)?.shift();
    if (delay === undefined) return void this.followUps.delete(pid);
    if (!this.renoteDue.has(pid)) this.renoteDue.set(pid, now + delay);
  }

  private refreshJit(now: number): void {
    this.lastJitRefresh = now;
    let refreshed = 0;
    for (const [pid, paths] of this.perfMapPaths) {
      if (refreshed >= JIT_REFRESH_MAX) break;
      if (!existsSync(`/proc/${pid}`)) {
        this.perfMapPaths.delete(pid); // exited: what it wrote is read already
        continue;
      }
      if (!paths.some((p) => existsSync(p))) continue;
      refreshed++;
      this.note(pid, true);
    }
  }

  close(): void {
    this.reader.close();
  }
}

export interface CountedStack<V> {
  key: StackKey;
  value: V;
  /** The user stack unwound in user space from a snapshot (instead of key.userStackId). */
  user?: { ips: bigint[]; end: UnwindEnd; endModule?: string; python?: PythonFrame[]; js?: JsFrames };
  /** The snapshot's group (struct stack_snapshot.group: a capture's key besides the stack), when not 0. */
  group?: bigint;
}

/** Reads the counts map whole (batch) and decodes keys and values. */
export function readCounts<V>(object: BpfObject, decodeValue: (data: Buffer) => V): CountedStack<V>[] {
  return object
    .map('counts')
    .entries()
    .map(([k, v]) => ({ key: decodeStackKey(k), value: decodeValue(v) }));
}

const lostFrame = (half: 'kernel' | 'user', id: number): Frame => ({
  name: `[${half} stack lost: ${id === EEXIST ? 'hash collision in the stack map' : 'stack map full'}]`,
  kind: 'unknown',
});

/** Where a walk that did not reach the thread's entry stopped, drawn as the stack's root. */
function gapFrame(end: UnwindEnd, endModule: string | undefined, snapshotBytes: number, maxDepth: number): Frame | undefined {
  const name: Record<UnwindEnd, string | undefined> = {
    root: undefined,
    depth: `[truncated at depth ${maxDepth}]`,
    snapshot: `[truncated: stack copy of ${Math.round(snapshotBytes / 1024)} KiB too small]`,
    unmapped: `[stopped: address outside every mapping]`,
    'no-unwind-info': `[no unwind info for ${endModule ?? 'a module'}]`,
    'bad-frame': `[stopped: bad frame${endModule ? ` in ${endModule}` : ''}]`,
  };
  const label = name[end];
  return label ? { name: label, kind: 'unknown' } : undefined;
}

/**
 * Symbolizes counted stacks into samples, root first (user outermost … user
 * leaf, then kernel entry … kernel leaf). Samples whose frames come out the
 * same (addresses inside the same functions) are merged: `merge` adds the
 * values. Stacks are read and symbolized once per stack id.
 */
export function symbolizeStacks<V>(
  stacksMap: BpfMap,
  symbolizer: Symbolizer,
  counted: CountedStack<V>[],
  toSample: (key: StackKey, frames: Frame[], value: V) => StackSample,
  merge: (into: StackSample, from: StackSample) => void,
  gaps: { snapshotBytes: number; maxDepth: number; unmappedDropped: number } = {
    snapshotBytes: 0,
    maxDepth: 0,
    unmappedDropped: 0,
  },
): StackSample[] {
  const kernelFrames = new Map<number, Frame[]>();
  const userFrames = new Map<string, Frame[]>(); // `${tgid}:${id}`: one id may be shared by processes

  const kernelStack = (id: number): Frame[] => {
    if (id === EPOLL_WAIT) return EPOLL_WAIT_FRAMES;
    if (id < 0) return isLostStack(id) ? [lostFrame('kernel', id)] : [];
    let frames = kernelFrames.get(id);
    if (!frames) {
      const ips = readStack(stacksMap, id) ?? [];
      frames = ips.length ? safe(() => symbolizer.symbolizeKernel(ips), ips, 'kernel').reverse() : [];
      kernelFrames.set(id, frames);
    }
    return frames;
  };
  const userStack = (tgid: number, id: number): Frame[] => {
    if (id < 0) return isLostStack(id) ? [lostFrame('user', id)] : [];
    const cacheKey = `${tgid}:${id}`;
    let frames = userFrames.get(cacheKey);
    if (!frames) {
      const ips = readStack(stacksMap, id) ?? [];
      frames = ips.length ? dropUnmapped(safe(() => symbolizer.symbolizeUser(tgid, ips), ips, 'user')).reverse() : [];
      userFrames.set(cacheKey, frames);
    }
    return frames;
  };
  // Frame-pointer walks can run into garbage: an address outside every mapping is dropped, and counted.
  const dropUnmapped = (frames: Frame[]): Frame[] => {
    const kept = frames.filter((f) => f.module !== '[unmapped]');
    gaps.unmappedDropped += frames.length - kept.length;
    return kept;
  };
  const unwoundStack = (tgid: number, user: NonNullable<CountedStack<V>['user']>): Frame[] => {
    const py = user.python?.map((f) => `${f.name}|${f.file}|${f.line ?? ''}|${f.entry ? 1 : 0}`).join(',') ?? '';
    const cacheKey = `${tgid}:${user.end}:${user.endModule ?? ''}:${user.ips.join(',')}:${py}:${jsFrameKey(user.js)}`;
    let frames = userFrames.get(cacheKey);
    if (!frames) {
      const ips = user.ips;
      frames = ips.length
        ? withJsFrames(
            safe(() => symbolizer.symbolizeUser(tgid, ips), ips, 'user'),
            user.js,
          ).reverse()
        : [];
      const gap = gapFrame(user.end, user.endModule, gaps.snapshotBytes, gaps.maxDepth);
      if (gap) frames.unshift(gap);
      if (user.python?.length) frames = interleavePython(frames, user.python);
      userFrames.set(cacheKey, frames);
    }
    return frames;
  };

  const merged = new Map<string, StackSample>();
  for (const { key, value, user } of counted) {
    const frames = [...(user ? unwoundStack(key.tgid, user) : userStack(key.tgid, key.userStackId)), ...kernelStack(key.kernelStackId)];
    const sample = toSample(key, frames, value);
    const id = `${key.tgid}\0${key.comm}\0${key.thread}\0${frames.map(frameId).join('\0')}`;
    const existing = merged.get(id);
    if (existing) merge(existing, sample);
    else merged.set(id, sample);
  }
  return demangled([...merged.values()]);
}

/** A V8 process's JIT and interpreter frames named after their JavaScript function (leaf first, as `frames`). */
function withJsFrames(frames: Frame[], js: JsFrames | undefined): Frame[] {
  if (!js) return frames;
  return frames.map((f, i) => {
    const fn = js[i];
    if (!fn) return f;
    const file = fn.file?.replace(/^file:\/\//, '');
    // An anonymous function is told apart by its line (the name is what findings quote).
    const name = fn.name || (fn.line !== undefined ? `(anonymous, line ${fn.line})` : '(anonymous)');
    return {
      name,
      kind: 'jit',
      ...(file ? { module: file.slice(file.lastIndexOf('/') + 1), file } : { module: V8_BUILTIN_MODULE }),
      ...(fn.line !== undefined ? { line: fn.line } : {}),
    };
  });
}

/** C++ and Rust names demangled, in one batch (frames are shared with caches: replaced, not changed). */
function demangled(samples: StackSample[]): StackSample[] {
  const names = demangleAll(samples.flatMap((s) => s.frames.filter((f) => f.kind !== 'kernel').map((f) => f.name)));
  for (const s of samples) {
    if (!s.frames.some((f) => names.get(f.name) !== f.name)) continue;
    s.frames = s.frames.map((f) => {
      const name = names.get(f.name);
      if (!name || name === f.name) return f;
      const renamed = { ...f, name };
      const origin = originOf(f); // for source lines, looked up by frame
      if (origin) rememberOrigin(renamed, origin);
      return renamed;
    });
  }
  return samples;
}

export const frameId = (f: Frame) => `${f.kind}|${f.module ?? ''}|${f.name}|${f.file ?? ''}|${f.line ?? ''}|${f.inlined ? 1 : 0}`;

/** A symbolizer failure must not lose the sample: fall back to raw addresses. */
function safe(symbolize: () => Frame[], ips: bigint[], kind: 'kernel' | 'user'): Frame[] {
  try {
    const frames = symbolize();
    if (frames.length === ips.length) return frames;
  } catch {
    // fall through
  }
  return ips.map((ip) => ({ name: `0x${ip.toString(16)}`, kind: kind === 'kernel' ? 'kernel' : 'unknown' }));
}

/** The innermost frame of a kind ('user' also takes 'jit'), or undefined. */
export function innermost(frames: Frame[], kinds: Frame['kind'][]): Frame | undefined {
  for (let i = frames.length - 1; i >= 0; i--) if (kinds.includes(frames[i]!.kind)) return frames[i];
  return undefined;
}
