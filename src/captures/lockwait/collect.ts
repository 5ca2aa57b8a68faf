// Reads lockwait's maps at the end: every {process, stack, futex word} row,
// symbolized with the stack family's code (src/captures/stack-family/stack-maps.ts),
// one futex word at a time so stacks that look alike on different locks stay
// apart; then the per-lock totals.
import type { BpfObject } from '../../libbpf/index.js';
import { createSymbolizer } from '../../symbolize/index.js';
import type { Collector } from '../capture.js';
import { sumValues } from '../stack-family/stack-capture.js';
import { addSourceLines } from '../../symbolize/source-lines.js';
import { ProcessAnnouncer, readLostStacks, symbolizeStacks, type CountedStack } from '../stack-family/stack-maps.js';
import { decodeWaitKey, decodeWaitValue, type WaitKind, type WaitValue } from './decode.js';
import type { LockWaitLock, LockWaitStack, LockwaitData } from './types.js';

const hex = (n: bigint) => `0x${n.toString(16)}`;

export function collectLockWaits(object: BpfObject, top: number): Collector<LockwaitData> {
  const symbolizer = createSymbolizer();
  const announcer = new ProcessAnnouncer(object, symbolizer);
  return {
    poll: () => announcer.poll(),
    finish: () => {
      announcer.poll();
      const groups = new Map<string, { tgid: number; uaddr: bigint; kind: WaitKind; rows: CountedStack<WaitValue>[] }>();
      for (const [k, v] of object.map('waits').entries()) {
        const key = decodeWaitKey(k);
        if (key.stack.userStackId >= 0) announcer.note(key.stack.tgid); // not announced in time (set full): now, if alive
        const id = `${key.stack.tgid}:${key.uaddr}:${key.kind}`;
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { tgid: key.stack.tgid, uaddr: key.uaddr, kind: key.kind, rows: [] }));
        g.rows.push({ key: key.stack, value: decodeWaitValue(v) });
      }
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
        ) as LockWaitStack[];
        samples.sort((a, b) => b.value - a.value);
        stacks.push(...samples);
        locks.push({
          pid: g.tgid,
          comm: samples[0]?.comm ?? '',
          lock,
          kind: g.kind,
          totalUs: sumValues(samples),
          waits: samples.reduce((n, s) => n + s.waits, 0),
          maxUs: Math.max(0, ...samples.map((s) => s.maxUs)),
          stacks: samples.length,
        });
      }
      addSourceLines(stacks); // once for the capture: one llvm-symbolizer run per module
      stacks.sort((a, b) => b.value - a.value);
      locks.sort((a, b) => b.totalUs - a.totalUs);
      const mutex = locks.filter((l) => l.kind === 'mutex');
      const problem = symbolizer.kernelProblem();
      return {
        stacks,
        sampleType: { type: 'lock-wait', unit: 'microseconds' },
        total: sumValues(stacks),
        lostStacks: readLostStacks(object),
        top,
        ...(problem ? { kernelSymbolsProblem: problem } : {}),
        locks,
        waits: locks.reduce((n, l) => n + l.waits, 0),
        mutexUs: mutex.reduce((n, l) => n + l.totalUs, 0),
      };
    },
    close: () => {
      announcer.close();
      symbolizer.close();
    },
  };
}
