// offcputime: where threads wait off the CPU, and for how long: stacks
// (kernel and user) weighted by microseconds blocked, from sched:sched_switch.
// Same data shape and outputs as profile (src/captures/stack-family/outputs.ts
// renders folded, pprof, SVG and speedscope from it), the values being µs.
import type { CaptureDefinition, Column } from '../capture.js';
import { recordLayout } from '../records.js';
import { collectStacks, columns, describeGaps, pct, sumValues, userLeafOf } from '../stack-family/stack-capture.js';
import { stackFiles } from '../stack-family/outputs.js';
import { newTgidLayout, stackKeyLayout } from '../stack-family/stack-maps.js';
import { pythonLayouts } from '../stack-family/python-stacks.js';
import { repeatLayout } from '../stack-family/snapshots.js';
import { offcputimeAnalysis } from './analyze.js';
import { offcputimeSetup } from './setup.js';
import { waitFrame } from './scheduler.js';
import { LockWaitSampler } from './file-locks.js';
import { PostgresBackendSampler } from './postgres-backends.js';
import type { OffcpuStack, OffcputimeData } from './data.js';
import {
  blockedThroughout,
  readStarts,
  schedulerClock,
  startLayout,
  withThroughout,
  withUserFrames,
  type BlockValue,
  type ThroughoutSample,
} from './open-blocks.js';
import { withBlockers } from './blockers.js';
import { byThreads } from './in-answers.js';
import { SchedulerClock } from './process-now.js';

export { waitFrame };
export type { OffcpuStack, OffcputimeData };

export type OffcputimeParams = typeof offcputimeSetup.defaults;

/** struct offcpu_value (bpf/offcputime/offcputime.h). */
export const valueLayout = recordLayout('offcpu_value', 16, { total_us: 0, count: 8 });

export const offcputime: CaptureDefinition<OffcputimeParams, OffcputimeData> = {
  ...offcputimeSetup,
  summary: 'where threads block, as stacks weighted by time off the CPU (flame graph, pprof)',
  kind: 'stacks',
  analysis: offcputimeAnalysis,

  records: [stackKeyLayout, valueLayout, startLayout, newTgidLayout, repeatLayout, ...pythonLayouts],

  collect({ object, params, target, excludeCgroupId }) {
    const startNs = process.hrtime.bigint();
    let throughout: ThroughoutSample[] = [];
    let clock = new SchedulerClock();
    const collector = collectStacks<BlockValue, OffcpuStack, OffcputimeData>(object, {
      targetPids: target.tgids,
      jvmPerfMaps: params.jvmPerfMaps,
      // Threads still blocked when the window ends: read then, while the programs still run.
      openAtEnd: () => {
        const now = process.hrtime.bigint();
        const open = readStarts(object, now, params);
        clock = schedulerClock(object);
        throughout = blockedThroughout(open.tids, Number((now - startNs) / 1000n), params, target, excludeCgroupId, clock);
        return open;
      },
      decodeValue: (data) => ({
        us: Number(data.readBigUInt64LE(valueLayout.offsets.total_us)),
        count: Number(data.readBigUInt64LE(valueLayout.offsets.count)),
      }),
      toSample: (key, frames, v) => ({
        pid: key.tgid,
        comm: key.comm,
        frames,
        value: v.us,
        blocks: v.count,
        ...(key.thread ? { threads: [[key.thread, v.us]] } : {}),
      }),
      merge: (into, from) => {
        into.value += from.value;
        into.blocks += from.blocks;
      },
      ...(params.userStackBytes
        ? {
            snapshots: {
              snapshotBytes: params.userStackBytes,
              maxDepth: params.maxDepth,
              maxPending: params.maxThreads,
              valueOf: (us: number) => ({ us, count: 1 }),
              groupIsThread: true,
              add: (a: BlockValue, b: BlockValue) => ({ us: a.us + b.us, count: a.count + b.count }),
            },
          }
        : {}),
      finish: (perThread, lostStacks, problem, gaps) => {
        const stacks = byThreads(perThread);
        return {
          ...gaps,
          stacks,
          sampleType: { type: 'off-cpu', unit: 'microseconds' },
          total: sumValues(stacks),
          lostStacks,
          top: params.top,
          ...(problem ? { kernelSymbolsProblem: problem } : {}),
          states: params.states,
          blocks: stacks.reduce((a, s) => a + s.blocks, 0),
        };
      },
    });
    const locks = new LockWaitSampler();
    const backends = new PostgresBackendSampler();
    return {
      ...collector,
      poll: () => {
        collector.poll?.();
        locks.poll();
        backends.poll();
      },
      windowEnded: () => {
        collector.windowEnded?.();
        locks.poll(true);
        backends.poll(true);
      },
      finish: async () => withBlockers(withThroughout(await collector.finish(), withUserFrames(throughout)), locks, clock, backends),
    };
  },

  table: (data) => ({ columns: offcpuColumns(data.total), rows: data.stacks.slice(0, data.top) }),
  text: offcputimeText,
  count: (data) => data.stacks.length,
  files: stackFiles,
};

const ms = (us: number) => (us / 1000).toFixed(us >= 100_000 ? 0 : us >= 1000 ? 1 : 3);

function offcpuColumns(total: number): Column<OffcpuStack>[] {
  return [
    { header: 'PID', value: (s) => String(s.pid), numeric: true },
    { header: 'COMM', value: (s) => s.comm },
    { header: 'OFF-CPU ms', value: (s) => ms(s.value), numeric: true },
    { header: '%', value: (s) => pct(s.value, total), numeric: true },
    { header: 'BLOCKS', value: (s) => String(s.blocks), numeric: true },
    { header: 'AVG ms', value: (s) => ms(s.value / Math.max(1, s.blocks)), numeric: true },
    { header: 'WAITING IN', value: (s) => waitFrame(s)?.name ?? '-' },
    { header: 'USER FRAME', value: (s) => userLeafOf(s)?.name ?? '-' },
  ];
}

/** The heaviest stacks, leaf first as bcc's offcputime prints them, with their time. */
export function offcputimeText(data: OffcputimeData): string {
  const head =
    `${ms(data.total)} ms off-CPU in ${data.blocks} blocks (states ${data.states}), ${data.stacks.length} distinct stacks` +
    describeGaps(data)
      .map((line) => `\n${line}`)
      .join('') +
    (data.kernelSymbolsProblem ? `\nkernel frames unnamed: ${data.kernelSymbolsProblem}` : '') +
    (data.blockedThroughout
      ? `\n${data.blockedThroughout} stacks of threads blocked since before the window (read from /proc, counted as the whole window)`
      : '');
  if (!data.total) return `${head}\n(no blocks)`;
  const summary = columns(
    ['OFF-CPU ms', '%', 'BLOCKS', 'PID', 'COMM', 'WAITING IN'],
    data.stacks.slice(0, data.top).map((s) => [ms(s.value), pct(s.value, data.total), String(s.blocks), String(s.pid), s.comm, waitFrame(s)?.name ?? '-']),
    new Set([0, 1, 2, 3]),
  );
  const detail = data.stacks.slice(0, Math.min(data.top, 10)).map((s) => {
    const frames = [...s.frames].reverse().map((f) => `    ${f.name}${f.kind === 'kernel' ? '' : f.module ? ` (${f.module})` : ''}`);
    return [...frames, `    -                ${s.comm} (${s.pid})`, `        ${ms(s.value)} ms in ${s.blocks} blocks`].join('\n');
  });
  return `${head}\n\n${summary}\n\n${detail.join('\n\n')}`;
}
