// lockwait: time threads spend blocked on user-space locks (futex waits), per
// process, per lock (futex word) and per waiting user stack (bpf/lockwait).
// The stacks are unwound by CFI from snapshots (through glibc's lock code),
// or walked by frame pointers in the kernel when userStackBytes is 0. A
// stacks-kind result, so it has the flame graph and pprof outputs of profile
// and offcputime, weighted by µs waited.
import type { CaptureDefinition, Column } from '../capture.js';
import { stackFiles } from '../stack-family/outputs.js';
import { columns, describeGaps } from '../stack-family/stack-capture.js';
import { analyzeLockwait, callerFrame } from './analyze.js';
import { lockwaitBaseline } from './baseline.js';
import { collectLockWaits } from './collect.js';
import { keyLayout, valueLayout } from './decode.js';
import { newTgidLayout, stackKeyLayout } from '../stack-family/stack-maps.js';
import type { LockWaitLock, LockwaitData } from './types.js';
import { lockwaitSetup } from './setup.js';

export type LockwaitParams = typeof lockwaitSetup.defaults;

export const lockwait: CaptureDefinition<LockwaitParams, LockwaitData> = {
  ...lockwaitSetup,
  summary: 'time blocked on user-space locks (futex waits) per process, lock and waiting stack',
  kind: 'stacks',

  records: [keyLayout, valueLayout, stackKeyLayout, newTgidLayout],
  collect: ({ object, params }) =>
    collectLockWaits(object, {
      top: params.top,
      snapshotBytes: params.userStackBytes,
      maxDepth: params.maxDepth,
      maxThreads: params.maxThreads,
      jvmPerfMaps: params.jvmPerfMaps,
    }),
  table: (data) => ({ columns: lockColumns, rows: data.locks.slice(0, data.top) }),
  text: lockwaitText,
  count: (data) => data.locks.length,
  files: stackFiles,
  analysis: { checks: 'lock waits', analyze: analyzeLockwait },
  baseline: lockwaitBaseline,
};

const ms = (us: number) => (us / 1000).toFixed(us >= 100_000 ? 0 : us >= 1000 ? 1 : 3);

const lockColumns: Column<LockWaitLock>[] = [
  { header: 'PID', value: (l) => String(l.pid), numeric: true },
  { header: 'COMM', value: (l) => l.comm },
  { header: 'LOCK', value: (l) => l.lock },
  { header: 'KIND', value: (l) => l.kind },
  { header: 'WAIT ms', value: (l) => ms(l.totalUs), numeric: true },
  { header: 'WAITS', value: (l) => String(l.waits), numeric: true },
  { header: 'MAX ms', value: (l) => ms(l.maxUs), numeric: true },
  { header: 'STACKS', value: (l) => String(l.stacks), numeric: true },
];

export function lockwaitText(data: LockwaitData): string {
  const head =
    `${ms(data.total)} ms waited in ${data.waits} futex waits (${ms(data.mutexUs)} ms on contended locks), ${data.locks.length} locks` +
    describeGaps(data)
      .map((line) => `\n${line}`)
      .join('');
  if (!data.locks.length) return `${head}\n(no waits)`;
  const table = columns(
    ['WAIT ms', 'WAITS', 'MAX ms', 'PID', 'COMM', 'LOCK', 'KIND', 'FROM'],
    data.locks.slice(0, data.top).map((l) => {
      const heaviest = data.stacks.find((s) => s.pid === l.pid && s.lock === l.lock && s.kind === l.kind);
      return [ms(l.totalUs), String(l.waits), ms(l.maxUs), String(l.pid), l.comm, l.lock, l.kind, (heaviest && callerFrame(heaviest.frames)?.name) ?? '-'];
    }),
    new Set([0, 1, 2, 3]),
  );
  const detail = data.stacks.slice(0, Math.min(data.top, 5)).map((s) => {
    const frames = [...s.frames].reverse().map((f) => `    ${f.name}${f.module ? ` (${f.module})` : ''}`);
    return [...frames, `    -                ${s.comm} (${s.pid}) on ${s.lock} [${s.kind}]`, `        ${ms(s.value)} ms in ${s.waits} waits`].join('\n');
  });
  return `${head}\n\n${table}\n\n${detail.join('\n\n')}`;
}
