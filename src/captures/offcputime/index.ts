// offcputime: where threads wait off the CPU, and for how long: stacks
// (kernel and user) weighted by microseconds blocked, from sched:sched_switch.
// Same data shape and outputs as profile (src/captures/stack-family/outputs.ts
// renders folded, pprof, SVG and speedscope from it), the values being µs.
import type { StackSample } from '../../stacks/types.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { recordLayout } from '../records.js';
import { collectStacks, columns, describeGaps, pct, sumValues, userLeafOf, type StackData } from '../stack-family/stack-capture.js';
import { stackFiles } from '../stack-family/outputs.js';
import { newTgidLayout, stackKeyLayout } from '../stack-family/stack-maps.js';
import { pythonLayouts } from '../stack-family/python-stacks.js';
import type { Frame } from '../../symbolize/types.js';
import { offcputimeAnalysis } from './analyze.js';
import { offcputimeSetup } from './setup.js';
import { SCHEDULER_FRAMES } from './scheduler.js';
import { FILE_LOCK_WAIT, PIPE_WRITE, SOCKET_SEND_WAIT } from './waits.js';
import { writtenPipes, type WrittenPipe } from './pipe-readers.js';
import { LockWaitSampler, type LockWait } from './file-locks.js';
import { blockedSends, type BlockedSend } from './socket-peers.js';
import { blockedThroughout, readStarts, startLayout, type ThroughoutSample } from './open-blocks.js';

export type OffcputimeParams = typeof offcputimeSetup.defaults;

export interface OffcpuStack extends StackSample {
  /** value: microseconds blocked; blocks: how many times. */
  blocks: number;
}

export interface OffcputimeData extends StackData<OffcpuStack> {
  /** The states counted (params.states). */
  states: string;
  /** Sum of blocks over every stack. */
  blocks: number;
  /** Stacks of threads blocked since before the window (not seen switching out in it), when any. */
  blockedThroughout?: number;
  /** Processes that waited writing into full pipes, with the pipes' readers (read at the end). */
  pipeWriters?: { pid: number; pipes: WrittenPipe[] }[];
  /** Processes that waited for file locks, with each lock's holder (/proc/locks, read every 250 ms). */
  lockWaiters?: { pid: number; locks: LockWait[] }[];
  /** Processes that waited to send on TCP connections, with each connection's peer (read at the end). */
  socketWriters?: { pid: number; sends: BlockedSend[] }[];
}

/** struct offcpu_value (bpf/offcputime/offcputime.h). */
export const valueLayout = recordLayout('offcpu_value', 16, { total_us: 0, count: 8 });

export const offcputime: CaptureDefinition<OffcputimeParams, OffcputimeData> = {
  ...offcputimeSetup,
  summary: 'where threads block, as stacks weighted by time off the CPU (flame graph, pprof)',
  kind: 'stacks',
  analysis: offcputimeAnalysis,

  records: [stackKeyLayout, valueLayout, startLayout, newTgidLayout, ...pythonLayouts],

  collect({ object, params, target, excludeCgroupId }) {
    const startNs = process.hrtime.bigint();
    let throughout: ThroughoutSample[] = [];
    const collector = collectStacks<{ us: number; count: number }, OffcpuStack, OffcputimeData>(object, {
      targetPids: target.tgids,
      // Threads still blocked when the window ends: read then, while the programs still run.
      openAtEnd: () => {
        const now = process.hrtime.bigint();
        const open = readStarts(object, now, params);
        throughout = blockedThroughout(open.tids, Number((now - startNs) / 1000n), params, target, excludeCgroupId);
        return open;
      },
      decodeValue: (data) => ({
        us: Number(data.readBigUInt64LE(valueLayout.offsets.total_us)),
        count: Number(data.readBigUInt64LE(valueLayout.offsets.count)),
      }),
      toSample: (key, frames, v) => ({ pid: key.tgid, comm: key.comm, frames, value: v.us, blocks: v.count }),
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
              add: (a: { us: number; count: number }, b: { us: number; count: number }) => ({ us: a.us + b.us, count: a.count + b.count }),
            },
          }
        : {}),
      finish: (stacks, lostStacks, problem, gaps) => ({
        ...gaps,
        stacks,
        sampleType: { type: 'off-cpu', unit: 'microseconds' },
        total: sumValues(stacks),
        lostStacks,
        top: params.top,
        ...(problem ? { kernelSymbolsProblem: problem } : {}),
        states: params.states,
        blocks: stacks.reduce((a, s) => a + s.blocks, 0),
      }),
    });
    const locks = new LockWaitSampler();
    return {
      ...collector,
      poll: () => {
        collector.poll?.();
        locks.poll();
      },
      windowEnded: () => {
        collector.windowEnded?.();
        locks.poll(true);
      },
      finish: async () => withBlockers(withThroughout(await collector.finish(), throughout), locks),
    };
  },

  table: (data) => ({ columns: offcpuColumns(data.total), rows: data.stacks.slice(0, data.top) }),
  text: offcputimeText,
  count: (data) => data.stacks.length,
  files: stackFiles,
};

/** The innermost kernel frame that is not the scheduler: what the thread waited in. */
export function waitFrame(s: StackSample): Frame | undefined {
  for (let i = s.frames.length - 1; i >= 0; i--) {
    const f = s.frames[i]!;
    if (f.kind !== 'kernel') break;
    if (!SCHEDULER_FRAMES.test(f.name)) return f;
  }
  return undefined;
}

/** Threads blocked since before the window, each counted as the whole window (kernel frames only). */
function withThroughout(data: OffcputimeData, samples: ThroughoutSample[]): OffcputimeData {
  if (!samples.length) return data;
  const stacks: OffcpuStack[] = [...data.stacks, ...samples].sort((a, b) => b.value - a.value);
  const added = samples.reduce((n, s) => n + s.value, 0);
  return { ...data, stacks, total: data.total + added, blocks: data.blocks + samples.reduce((n, s) => n + s.blocks, 0), blockedThroughout: samples.length };
}

/** A process that waited this long on full pipes, file locks or TCP sends gets what it waited on looked up. */
const BLOCKED_US = 100_000;
const MAX_BLOCKED = 5;

/** The processes that waited longest in `wait` (at least BLOCKED_US), longest first. */
function waitedIn(data: OffcputimeData, wait: RegExp): number[] {
  const waited = new Map<number, number>();
  for (const s of data.stacks) if (wait.test(waitFrame(s)?.name ?? '')) waited.set(s.pid, (waited.get(s.pid) ?? 0) + s.value);
  return [...waited]
    .filter(([, us]) => us >= BLOCKED_US)
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_BLOCKED)
    .map(([pid]) => pid);
}

/** What its blocked writers and lockers waited on: the pipes' readers, the locks' holders, the connections' peers. */
function withBlockers(data: OffcputimeData, locks: LockWaitSampler): OffcputimeData {
  const pipeWriters = waitedIn(data, PIPE_WRITE)
    .map((pid) => ({ pid, pipes: writtenPipes(pid) }))
    .filter((w) => w.pipes.length);
  const lockWaiters = waitedIn(data, FILE_LOCK_WAIT)
    .map((pid) => ({ pid, locks: locks.waitsOf(pid) }))
    .filter((w) => w.locks.length);
  const socketWriters = waitedIn(data, SOCKET_SEND_WAIT)
    .map((pid) => ({ pid, sends: blockedSends(pid) }))
    .filter((w) => w.sends.length);
  return {
    ...data,
    ...(pipeWriters.length ? { pipeWriters } : {}),
    ...(lockWaiters.length ? { lockWaiters } : {}),
    ...(socketWriters.length ? { socketWriters } : {}),
  };
}

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
      ? `\n${data.blockedThroughout} stacks of threads blocked since before the window (kernel frames from /proc, counted as the whole window)`
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
