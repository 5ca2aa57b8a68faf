// Reads lockwait's waits: snapshots unwound by CFI while the capture runs
// (src/captures/stack-family/snapshots.ts, grouped by their lock), then the
// "waits" map's frame-pointer rows at the end (snapshots off, or the ring
// buffer full); every {process, stack, futex word} row is symbolized with the
// stack family's code (src/captures/stack-family/stack-maps.ts), one futex
// word at a time so stacks that look alike on different locks stay apart;
// then the per-lock totals.
import type { BpfObject } from '../../libbpf/index.js';
import { createSymbolizer } from '../../symbolize/index.js';
import { requestJvmPerfMaps } from '../../symbolize/jvm-perf-map.js';
import type { Collector } from '../capture.js';
import { countSnapshots } from '../stack-family/snapshots.js';
import { sumValues } from '../stack-family/stack-capture.js';
import { ProcessAnnouncer, readLostStacks, symbolizeStacks, type CountedStack } from '../stack-family/stack-maps.js';
import { decodeWaitGroup, decodeWaitKey, decodeWaitValue, type WaitKind, type WaitValue } from './decode.js';
import type { LockWaitLock, LockWaitStack, LockwaitData } from './types.js';

const hex = (n: bigint) => `0x${n.toString(16)}`;

export interface LockwaitCollectOptions {
  top: number;
  /** Bytes of user stack each wait's snapshot copies (0: frame pointers in the kernel), and the unwind depth. */
  snapshotBytes: number;
  maxDepth: number;
  maxThreads: number;
  /** Ask the JVMs sampled for their perf map before naming frames. */
  jvmPerfMaps: boolean;
}

export function collectLockWaits(object: BpfObject, options: LockwaitCollectOptions): Collector<LockwaitData> {
  const symbolizer = createSymbolizer();
  const announcer = new ProcessAnnouncer(object, symbolizer);
  const snapshots = options.snapshotBytes
    ? countSnapshots<WaitValue>(object, symbolizer, {
        snapshotBytes: options.snapshotBytes,
        maxDepth: options.maxDepth,
        maxPending: options.maxThreads,
        valueOf: (ns) => ({ totalNs: ns, count: 1, maxNs: ns }),
        add: (a, b) => ({ totalNs: a.totalNs + b.totalNs, count: a.count + b.count, maxNs: Math.max(a.maxNs, b.maxNs) }),
      })
    : undefined;
  return {
    poll: () => {
      announcer.poll(); // first: a process's maps are read before its snapshots are unwound
      snapshots?.poll();
    },
    finish: async () => {
      announcer.poll();
      snapshots?.finish();
      const groups = new Map<string, { tgid: number; uaddr: bigint; kind: WaitKind; rows: CountedStack<WaitValue>[] }>();
      const add = (tgid: number, uaddr: bigint, kind: WaitKind, row: CountedStack<WaitValue>) => {
        const id = `${tgid}:${uaddr}:${kind}`;
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { tgid, uaddr, kind, rows: [] }));
        g.rows.push(row);
      };
      for (const row of snapshots?.counted() ?? []) {
        const { uaddr, kind } = decodeWaitGroup(row.group ?? 0n);
        add(row.key.tgid, uaddr, kind, row);
      }
      for (const [k, v] of object.map('waits').entries()) {
        const key = decodeWaitKey(k);
        if (key.stack.userStackId >= 0) announcer.note(key.stack.tgid); // not announced in time (set full): now, if alive
        add(key.stack.tgid, key.uaddr, key.kind, { key: key.stack, value: decodeWaitValue(v) });
      }
      if (options.jvmPerfMaps)
        for (const pid of await requestJvmPerfMaps([...groups.values()].flatMap((g) => g.rows.map(() => g.tgid)))) symbolizer.reloadPerfMap(pid);
      const gaps = { snapshotBytes: options.snapshotBytes, maxDepth: options.maxDepth, unmappedDropped: 0 };
      const stacks: LockWaitStack[] = [];
      const locks: LockWaitLock[] = [];
      for (const g of groups.values()) {
        const lock = hex(g.uaddr);
        const samples = symbolizeStacks(
          object.map('stacks'),
          symbolizer,
          g.rows,
          (key, frames, v): LockWaitStack => ({
            pid: key.tgid,
            comm: key.comm,
            frames,
            value: Math.round(v.totalNs / 1000),
            waits: v.count,
            maxUs: Math.round(v.maxNs / 1000),
            lock,
            kind: g.kind,
          }),
          (into, from) => {
            const a = into as LockWaitStack;
            const b = from as LockWaitStack;
            a.value += b.value;
            a.waits += b.waits;
            a.maxUs = Math.max(a.maxUs, b.maxUs);
          },
          gaps,
        ) as LockWaitStack[];
        samples.sort((a, b) => b.value - a.value);
        stacks.push(...samples);
        locks.push({
          pid: g.tgid,
          // The process's name, not a waiting thread's (runtimes name their threads: "Thread-2 (worker)", "http-nio-8080-e").
          comm: announcer.nameOf(g.tgid) ?? samples[0]?.comm ?? '',
          lock,
          kind: g.kind,
          totalUs: sumValues(samples),
          waits: samples.reduce((n, s) => n + s.waits, 0),
          maxUs: Math.max(0, ...samples.map((s) => s.maxUs)),
          stacks: samples.length,
        });
      }
      stacks.sort((a, b) => b.value - a.value);
      locks.sort((a, b) => b.totalUs - a.totalUs);
      const mutex = locks.filter((l) => l.kind === 'mutex');
      const problem = symbolizer.kernelProblem();
      const unwind = snapshots?.summary();
      return {
        stacks,
        sampleType: { type: 'lock-wait', unit: 'microseconds' },
        total: sumValues(stacks),
        lostStacks: readLostStacks(object),
        ...(unwind ? { unwind } : {}),
        unmappedDropped: gaps.unmappedDropped + (unwind?.unmappedDropped ?? 0),
        top: options.top,
        ...(problem ? { kernelSymbolsProblem: problem } : {}),
        locks,
        waits: locks.reduce((n, l) => n + l.waits, 0),
        mutexUs: mutex.reduce((n, l) => n + l.totalUs, 0),
      };
    },
    close: () => {
      snapshots?.close();
      announcer.close();
      symbolizer.close();
    },
  };
}
