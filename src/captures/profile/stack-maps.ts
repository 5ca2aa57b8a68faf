// The user-space half of the stack captures (profile, offcputime): both
// count in a hash keyed by {tgid, kernel stack id, user stack id, comm}
// (bpf/common/stacks.h, with the maps in bpf/common/stacks.bpf.h), keep
// the stacks in a stack-trace map "stacks", and announce each process with a
// user stack on the ring buffer "new_tgids" so its mappings are read while
// it lives. This file reads those maps and turns them into StackSamples.
import { existsSync } from 'node:fs';
import { RingBufferReader, type BpfMap, type BpfObject } from '../../libbpf/index.js';
import type { StackSample } from '../../stacks/types.js';
import { perfMapCandidates } from '../../symbolize/perf-map.js';
import type { Frame, Symbolizer } from '../../symbolize/types.js';
import { cString, recordLayout } from '../records.js';

/** struct stack_key (bpf/common/stacks.h). */
export const stackKeyLayout = recordLayout('stack_key', 32, { tgid: 0, kernel_stack_id: 4, user_stack_id: 8, comm: 16 }, { comm: 16 });
/** struct stack_new_tgid: a process to read the mappings of (ring buffer "new_tgids"). */
export const newTgidLayout = recordLayout('stack_new_tgid', 8, { tgid: 0 });

/** bpf_get_stackid errors kept in a key instead of an id. */
// -EFAULT (-14): no such stack (a kernel thread's user stack, a user-mode sample's kernel stack): absent, not lost.
const EEXIST = -17; // stack map bucket taken by another stack
const ENOMEM = -12; // stack map full

export interface StackKey {
  tgid: number;
  kernelStackId: number;
  userStackId: number;
  comm: string;
}

export function decodeStackKey(data: Buffer): StackKey {
  const O = stackKeyLayout.offsets;
  return {
    tgid: data.readUInt32LE(O.tgid),
    kernelStackId: data.readInt32LE(O.kernel_stack_id),
    userStackId: data.readInt32LE(O.user_stack_id),
    comm: cString(data, O.comm, stackKeyLayout.lengths.comm),
  };
}

/** A stack id that is an error the stack map could not store (the stack was lost). */
export const isLostStack = (id: number): boolean => id === EEXIST || id === ENOMEM;

/** Stacks lost because the stack map had no room, by half (map "stack_errors"). */
export interface LostStacks {
  kernel: number;
  user: number;
}

export function readLostStacks(object: BpfObject): LostStacks {
  const map = object.map('stack_errors');
  const sum = (slot: number) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(slot);
    const value = map.lookup(key);
    return value ? map.perCpuValues(value).reduce((a, v) => a + Number(v.readBigUInt64LE(0)), 0) : 0;
  };
  return { kernel: sum(0), user: sum(1) };
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

/**
 * Drains "new_tgids" every tick and notes each announced process with the
 * symbolizer (its maps and perf map are read now, while it lives).
 *
 * A process is announced again after an exec (a new image under the same
 * pid); the symbolizer ignores a note that comes too soon after the last, so
 * such a note is repeated once RENOTE_AFTER_MS later. A JIT appends to its
 * perf map as it compiles, after the process was first seen: processes that
 * have one are noted again every JIT_REFRESH_MS, so a short-lived one still
 * names its JIT frames after it exits.
 */
export class ProcessAnnouncer {
  private readonly reader: RingBufferReader;
  readonly noted = new Set<number>();
  private readonly notedAt = new Map<number, number>();
  private readonly renoteDue = new Map<number, number>();
  private readonly perfMapPaths = new Map<number, string[]>();
  private lastJitRefresh = Date.now();

  constructor(object: BpfObject, private readonly symbolizer: Symbolizer) {
    this.reader = new RingBufferReader(object.map('new_tgids'));
  }

  poll(): void {
    this.reader.drain((data) => this.announced(data.readUInt32LE(newTgidLayout.offsets.tgid)));
    const now = Date.now();
    for (const [pid, due] of this.renoteDue) {
      if (due > now) continue;
      this.renoteDue.delete(pid);
      this.note(pid, true);
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

  /** again: note even if noted before. */
  note(pid: number, again = false): void {
    if (!pid || (!again && this.noted.has(pid))) return;
    if (!this.noted.has(pid)) {
      this.noted.add(pid);
      this.perfMapPaths.set(pid, perfMapCandidates(pid));
    }
    this.notedAt.set(pid, Date.now());
    try {
      this.symbolizer.notePid(pid);
    } catch {
      // gone already: its frames show as module+offset
    }
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
}

/** Reads the counts map whole (batch) and decodes keys and values. */
export function readCounts<V>(object: BpfObject, decodeValue: (data: Buffer) => V): CountedStack<V>[] {
  return object.map('counts').entries().map(([k, v]) => ({ key: decodeStackKey(k), value: decodeValue(v) }));
}

const lostFrame = (half: 'kernel' | 'user'): Frame => ({ name: `[${half} stack lost: stack map full]`, kind: 'unknown' });

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
): StackSample[] {
  const kernelFrames = new Map<number, Frame[]>();
  const userFrames = new Map<string, Frame[]>(); // `${tgid}:${id}`: one id may be shared by processes

  const kernelStack = (id: number): Frame[] => {
    if (id < 0) return isLostStack(id) ? [lostFrame('kernel')] : [];
    let frames = kernelFrames.get(id);
    if (!frames) {
      const ips = readStack(stacksMap, id) ?? [];
      frames = ips.length ? safe(() => symbolizer.symbolizeKernel(ips), ips, 'kernel').reverse() : [];
      kernelFrames.set(id, frames);
    }
    return frames;
  };
  const userStack = (tgid: number, id: number): Frame[] => {
    if (id < 0) return isLostStack(id) ? [lostFrame('user')] : [];
    const cacheKey = `${tgid}:${id}`;
    let frames = userFrames.get(cacheKey);
    if (!frames) {
      const ips = readStack(stacksMap, id) ?? [];
      frames = ips.length ? safe(() => symbolizer.symbolizeUser(tgid, ips), ips, 'user').reverse() : [];
      userFrames.set(cacheKey, frames);
    }
    return frames;
  };

  const merged = new Map<string, StackSample>();
  for (const { key, value } of counted) {
    const frames = [...userStack(key.tgid, key.userStackId), ...kernelStack(key.kernelStackId)];
    const sample = toSample(key, frames, value);
    const id = `${key.tgid}\0${key.comm}\0${frames.map(frameId).join('\0')}`;
    const existing = merged.get(id);
    if (existing) merge(existing, sample);
    else merged.set(id, sample);
  }
  return [...merged.values()];
}

const frameId = (f: Frame) => `${f.kind}|${f.module ?? ''}|${f.name}`;

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
