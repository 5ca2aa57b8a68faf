// Blocks still open when the window ends: the threads off the CPU right then.
// The kernel adds a block to its counts when the thread is switched back in,
// so a thread stuck for the rest of the window (a full pipe, a hung NFS
// server, a lock never released) would count for nothing, and one stuck since
// before the window began is never seen by the program at all. Both are read
// at the window's end:
// - began in the window: still in the `starts` map, with the stacks taken
//   when it switched out; counted from then to the window's end;
// - not seen by the program: asleep now and not in `starts` (it never switched
//   out in the window, or did so where the program skips idle syscalls and was
//   then frozen there), its kernel stack read from /proc (and its user frames
//   after the window, threads-now.ts); counted from its last run
//   (se.exec_start in /proc/PID/task/TID/sched, where the kernel has it, on
//   its CPU's clock: SchedulerClock), the whole window when that was before it.
import { readdirSync } from 'node:fs';
import type { BpfObject } from '../../libbpf/index.js';
import { processCgroup2Id } from '../../cgroups/process-cgroup.js';
import { readText } from '../../util/read-text.js';
import type { Frame } from '../../symbolize/types.js';
import { kernelFrames, threadsNow } from '../threads-now.js';
import { recordLayout } from '../records.js';
import type { OpenCounts } from '../stack-family/stack-capture.js';
import { decodeStackKey, repeatSlotOf, STACK_ID_SNAPSHOT, stackKeyLayout } from '../stack-family/stack-maps.js';
import { targetPids } from '../target-processes.js';
import type { ResolvedTarget } from '../target.js';
import type { OffcpuStack, OffcputimeData } from './data.js';
import { COMPILER_SUFFIX, waitName } from './scheduler.js';
import { FUTEX, IDLE_WAITS } from './waits.js';
import { mutexWaitOf } from './mutex-owners.js';
import { SchedulerClock } from './process-now.js';

/** struct offcpu_start (bpf/offcputime/offcputime.bpf.c): a thread's block, open since ts. */
export const startLayout = recordLayout('offcpu_start', 8 + stackKeyLayout.size, { ts: 0, key: 8 });

/** Threads looked at in /proc, at most, and for how long (a sleeping thread's wait channel is a stack walk: ~40-150 µs here). */
const MAX_THREADS = 65_536;
const MAX_SCAN_MS = 250;
/** task_struct flags (/proc/PID/stat field 9): a kernel thread. */
const PF_KTHREAD = 0x00200000;

export interface BlockValue {
  us: number;
  count: number;
}

export interface OpenBlockSettings {
  minBlockUs: number;
  maxBlockUs: number;
  /** Task states counted (params.states). */
  states: string;
}

/**
 * The blocks in `starts`, each counted up to `nowNs` (CLOCK_MONOTONIC, as bpf_ktime_get_ns), and the tids seen.
 * Each is taken out of the map: the programs may stay attached after the window (detachLater), and the
 * thread's switch-in would then count the same block again. One the kernel took first is its to count.
 */
export function readStarts(object: BpfObject, nowNs: bigint, settings: OpenBlockSettings): OpenCounts<BlockValue> & { tids: Set<number> } {
  const open: OpenCounts<BlockValue> & { tids: Set<number> } = { counted: [], snapshotValues: new Map(), repeatSlots: new Map(), tids: new Set() };
  const starts = object.map('starts');
  for (const [k, v] of starts.entries()) {
    const tid = k.readUInt32LE(0);
    open.tids.add(tid);
    if (!starts.delete(k)) continue; // switched back in meanwhile: the kernel counted it
    const ts = v.readBigUInt64LE(startLayout.offsets.ts);
    const us = ts < nowNs ? Number((nowNs - ts) / 1000n) : 0;
    if (us < settings.minBlockUs || (settings.maxBlockUs && us > settings.maxBlockUs)) continue;
    const key = decodeStackKey(v.subarray(startLayout.offsets.key));
    const value = { us, count: 1 };
    // Its user stack went to user space as a snapshot, or repeats one: counted with it there.
    const slot = repeatSlotOf(key.userStackId);
    if (slot !== undefined) open.repeatSlots!.set(tid, slot);
    if (key.userStackId === STACK_ID_SNAPSHOT || slot !== undefined) open.snapshotValues.set(tid, value);
    else open.counted.push({ key, value });
  }
  return open;
}

/** Each CPU's scheduler clock against CLOCK_MONOTONIC, as the program saw it at that CPU's latest switch (clock_offsets). */
export function schedulerClock(object: BpfObject): SchedulerClock {
  const offsets = object.map('clock_offsets');
  const value = offsets.lookup(Buffer.alloc(4));
  return new SchedulerClock(value ? offsets.perCpuValues(value).map((v) => v.readBigUInt64LE(0) || undefined) : []);
}

export interface ThroughoutSample {
  pid: number;
  comm: string;
  /** Root first: kernel frames from /proc, with its user frames in front once withUserFrames read them. */
  frames: Frame[];
  value: number;
  blocks: number;
  /** A futex wait for a mutex another thread holds (mutex-owners.ts): its address. */
  mutex?: string;
  /** Frozen where it slept (its cgroup's freezer), in a wait that is otherwise idle. */
  frozen?: boolean;
  /** Its threads and each one's time (µs), until withUserFrames splits it by their user frames. */
  tids?: [tid: number, us: number][];
}

/** Processes whose blocked threads' user frames are read (each a symbolizer's first look: ~60 ms). */
const MAX_USER_PROCESSES = 8;

const isIdle = (wait: string) => IDLE_WAITS.test(wait) || FUTEX.test(wait);

/**
 * Threads of the target asleep now (in a counted state) that are not in `starts`:
 * off the CPU since their last run, or since before the window. Idle waits (epoll, sleeps, reads) and futexes
 * (a parked pool) are left out, but for a futex that is a mutex held by another thread (its memory says so) and
 * a thread frozen where it slept.
 * The scan stops after 250 ms (tens of thousands of threads): the processes not reached are not looked at.
 */
export function blockedThroughout(
  seen: Set<number>,
  windowUs: number,
  settings: OpenBlockSettings,
  target: ResolvedTarget,
  excludeCgroupId: bigint | undefined,
  clock: SchedulerClock,
): ThroughoutSample[] {
  const samples = new Map<string, ThroughoutSample>();
  // Not in `starts` is not enough: a thread running when it was read may be asleep by the time the scan reaches it,
  // and one the program skipped (asleep in an idle syscall, then frozen there) was not seen switching out. Each is
  // counted from its last run when that was in the window.
  let threads = 0;
  const deadline = Date.now() + MAX_SCAN_MS;
  for (const pid of targetPids(target)) {
    if (threads >= MAX_THREADS || Date.now() > deadline) break; // the run's end waits on this: a partial look, not a stall
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    let own: boolean | undefined;
    let processComm: string | undefined; // samples name the process (a deadlock's text names its threads)
    for (const tid of tids) {
      if (++threads > MAX_THREADS) break;
      if (seen.has(Number(tid))) continue;
      const task = `/proc/${pid}/task/${tid}`;
      const stat = /^\d+ \((.*)\) (\S) (?:\S+ ){5}(\d+)/s.exec(readText(`${task}/stat`) ?? '');
      if (!stat || !settings.states.includes(stat[2]!) || Number(stat[3]) & PF_KTHREAD) continue;
      if (excludeCgroupId !== undefined && (own ??= processCgroup2Id(pid) === excludeCgroupId)) break;
      // The wait channel first (one read): most sleepers are idle, and need no stack walk.
      const wchan = (readText(`${task}/wchan`) ?? '').trim().replace(COMPILER_SUFFIX, '');
      if (!wchan || wchan === '0') continue;
      // A futex is a parked pool thread unless its word is a mutex another thread holds (a lock held all window, a deadlock).
      const mutex = FUTEX.test(wchan) ? mutexWaitOf(pid, Number(tid)) : undefined;
      // Asleep in an idle wait yet uninterruptible: the freezer froze it where it slept (6.1+: TASK_FROZEN reads as D), a paused container.
      const frozen = stat[2] === 'D' && isIdle(wchan);
      if (!mutex && !frozen && isIdle(wchan)) continue;
      const offMs = clock.offCpuMs(task);
      const asleepUs = offMs !== undefined ? Math.min(windowUs, Math.round(offMs * 1000)) : windowUs;
      if (asleepUs <= 0) continue;
      const frames = kernelFrames(task, wchan);
      const wait = waitName(frames);
      if (!mutex && !frozen && (!wait || isIdle(wait))) continue;
      const comm = (processComm ??= readText(`/proc/${pid}/comm`)?.trim() || stat[1]!);
      const id = `${pid}\0${frames.map((f) => f.name).join(';')}\0${mutex?.address ?? ''}`;
      const sample = samples.get(id);
      if (sample) {
        sample.value += asleepUs;
        sample.blocks++;
        sample.tids!.push([Number(tid), asleepUs]);
      } else
        samples.set(id, {
          pid,
          comm,
          frames,
          value: asleepUs,
          blocks: 1,
          tids: [[Number(tid), asleepUs]],
          ...(mutex ? { mutex: mutex.address } : {}),
          ...(frozen ? { frozen } : {}),
        });
    }
  }
  return [...samples.values()];
}

/**
 * The samples with their threads' user frames (unwound from their stacks, Python's too: threads-now.ts), read
 * after the window for the threads still asleep where the scan saw them (the same kernel frames); a sample splits
 * by them. Threads that moved on, and processes past MAX_USER_PROCESSES, keep their kernel frames alone.
 */
export function withUserFrames(samples: ThroughoutSample[]): ThroughoutSample[] {
  const pids = [...new Set(samples.map((s) => s.pid))].slice(0, MAX_USER_PROCESSES);
  const now = new Map(
    pids.map((pid) => [
      pid,
      new Map(threadsNow(pid, { tids: samples.filter((s) => s.pid === pid).flatMap((s) => (s.tids ?? []).map(([t]) => t)) }).map((t) => [t.tid, t])),
    ]),
  );
  return samples.flatMap(({ tids, ...sample }) => {
    const threads = now.get(sample.pid);
    if (!threads || !tids) return [sample];
    const parts = new Map<string, ThroughoutSample>();
    for (const [tid, us] of tids) {
      const read = threads.get(tid)?.frames;
      const frames =
        read &&
        sameNames(
          read.filter((f) => f.kind === 'kernel'),
          sample.frames,
        )
          ? read
          : sample.frames;
      const id = frames.map((f) => `${f.name}:${f.line ?? ''}`).join(';');
      const part = parts.get(id) ?? { ...sample, frames, value: 0, blocks: 0 };
      part.value += us;
      part.blocks++;
      parts.set(id, part);
    }
    return [...parts.values()];
  });
}

const sameNames = (a: Frame[], b: Frame[]) =>
  a.length === b.length && a.every((f, i) => f.name.replace(COMPILER_SUFFIX, '') === b[i]!.name.replace(COMPILER_SUFFIX, ''));

/** Threads the program did not see block, each counted from its last run or as the whole window. */
export function withThroughout(data: OffcputimeData, samples: ThroughoutSample[]): OffcputimeData {
  if (!samples.length) return data;
  const stacks: OffcpuStack[] = [...data.stacks, ...samples].sort((a, b) => b.value - a.value);
  const added = samples.reduce((n, s) => n + s.value, 0);
  return { ...data, stacks, total: data.total + added, blocks: data.blocks + samples.reduce((n, s) => n + s.blocks, 0), blockedThroughout: samples.length };
}
