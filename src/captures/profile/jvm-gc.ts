// A JVM's collections over the window, by its own counters (hsperfdata, as
// jstat reads them): how many of each kind and how long they paused it, and
// how full its old generation was at the end. A heap its live objects fill
// is collected again and again for little room: the collector's CPU says GC,
// these say why. JVMs on this host's /tmp only (one in a container keeps its
// counters in its own /tmp, under its own pid).
import { isObj, num, objs, str, type Obj } from '../../analysis/common.js';
import { fmtBytes, fmtUs, listText } from '../../format/index.js';
import { perfDataFiles, readPerfDataFile, type PerfCounters } from '../../util/hsperfdata.js';

export interface JvmGcWindow {
  /** sun.gc.policy.name: GarbageFirst, ParallelGC, ... */
  policy?: string;
  /** Each collector the JVM counts (young pauses, full pauses, ...), over the window. */
  collectors: { name: string; collections: number; pausedSeconds: number }[];
  /** The old generation at the window's end: bytes in use and its most (the heap's limit, -Xmx, for G1). */
  old?: { usedBytes: number; maxBytes: number };
}

const counter = (c: PerfCounters, name: string) => (typeof c.get(name) === 'number' ? (c.get(name) as number) : undefined);

/** Reads every JVM's counters now; `end` reads those of `pids` again and returns their window, by pid. */
export function jvmGcTracker(): { end(pids: Iterable<number>): Record<string, JvmGcWindow> } {
  const start = new Map<number, { path: string; counters: PerfCounters }>();
  for (const [pid, path] of perfDataFiles()) {
    const counters = readPerfDataFile(path);
    if (counters) start.set(pid, { path, counters });
  }
  return {
    end(pids) {
      const windows: Record<string, JvmGcWindow> = {};
      for (const pid of new Set(pids)) {
        const before = start.get(pid);
        const after = before && readPerfDataFile(before.path);
        if (after) windows[pid] = gcWindow(before.counters, after);
      }
      return windows;
    },
  };
}

export function gcWindow(before: PerfCounters, after: PerfCounters): JvmGcWindow {
  const ticksPerSecond = counter(after, 'sun.os.hrt.frequency') || 1e9;
  const collectors: JvmGcWindow['collectors'] = [];
  for (let i = 0; after.has(`sun.gc.collector.${i}.name`); i++) {
    const delta = (field: string) => (counter(after, `sun.gc.collector.${i}.${field}`) ?? 0) - (counter(before, `sun.gc.collector.${i}.${field}`) ?? 0);
    collectors.push({
      name: String(after.get(`sun.gc.collector.${i}.name`)),
      collections: delta('invocations'),
      pausedSeconds: delta('time') / ticksPerSecond,
    });
  }
  const spaces = counter(after, 'sun.gc.generation.1.spaces') ?? 0;
  let used = 0;
  for (let i = 0; i < spaces; i++) used += counter(after, `sun.gc.generation.1.space.${i}.used`) ?? 0;
  const max = counter(after, 'sun.gc.generation.1.maxCapacity');
  const policy = after.get('sun.gc.policy.name');
  return {
    ...(typeof policy === 'string' ? { policy } : {}),
    collectors,
    ...(spaces && max ? { old: { usedBytes: used, maxBytes: max } } : {}),
  };
}

/** A JVM's window as stored (untrusted JSON: odd fields read as absent). */
export function storedJvmGc(data: Obj, pid: number): JvmGcWindow | undefined {
  const w = isObj(data.jvmGc) ? data.jvmGc[String(pid)] : undefined;
  if (!isObj(w)) return undefined;
  const old = isObj(w.old) && num(w.old.maxBytes) > 0 ? { usedBytes: num(w.old.usedBytes), maxBytes: num(w.old.maxBytes) } : undefined;
  return {
    ...(str(w.policy) ? { policy: str(w.policy) } : {}),
    collectors: objs(w.collectors).map((c) => ({ name: str(c.name) || '?', collections: num(c.collections), pausedSeconds: num(c.pausedSeconds) })),
    ...(old ? { old } : {}),
  };
}

/** Its old generation this full at the end: what the program keeps fills the heap, and each collection frees little. */
export const FULL_OLD_SHARE = 0.85;
/**
 * Or this full, between collections of the whole heap once a second or more: a generational collector's second
 * (sun.gc.collector.1: G1's full pauses, Parallel's and Serial's old-generation ones) runs when the old fills,
 * and the end's reading falls anywhere between the live set and the limit.
 */
const FULL_OLD_SHARE_COLLECTING = 0.5;
const FULL_COLLECTIONS_PER_S = 1;

/** What a JVM's counters add to its GC finding: the collections in the window, and how full its old generation was. */
export function jvmGcText(w: JvmGcWindow, pid: number, windowSeconds: number): { said: string; next?: string } {
  const counted = w.collectors
    .filter((c) => c.collections > 0)
    .sort((a, b) => b.pausedSeconds - a.pausedSeconds)
    .map((c) => `${c.collections} ${c.name} (${fmtUs(c.pausedSeconds * 1e6)} paused)`);
  const parts = counted.length ? [`its own counters: ${listText(counted, 3)} in the window`] : [];
  const wholeHeap = w.collectors.length >= 2 ? w.collectors[1]!.collections : 0;
  const collecting = wholeHeap >= FULL_COLLECTIONS_PER_S * Math.max(1, windowSeconds);
  const share = w.old && w.old.maxBytes > 0 ? w.old.usedBytes / w.old.maxBytes : 0;
  const full = share >= FULL_OLD_SHARE || (collecting && share >= FULL_OLD_SHARE_COLLECTING);
  if (w.old)
    parts.push(
      `its old generation held ${fmtBytes(w.old.usedBytes)} of ${fmtBytes(w.old.maxBytes)} at the end` +
        (full ? `${collecting ? `, collected whole ${wholeHeap} times` : ''}: what it keeps fills its heap, and each collection frees little` : ''),
    );
  return {
    said: parts.join('; '),
    ...(full
      ? {
          next: `a heap too small for what it keeps: raise -Xmx (its old generation can grow to ${fmtBytes(w.old!.maxBytes)}), or find what holds memory (jmap -histo:live ${pid}, a heap dump)`,
        }
      : {}),
  };
}
