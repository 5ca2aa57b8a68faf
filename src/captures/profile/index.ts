// profile: on-CPU stacks (kernel and user) sampled at F Hz on every CPU,
// counted in the kernel, symbolized at the end. The stack outputs (folded,
// pprof, flame graph SVG, speedscope) are rendered on demand from the data by
// ./outputs.ts (renderStackOutput): they can be large, and pprof is binary,
// so the result holds only the stacks they are made from.
import type { StackSample } from '../../stacks/types.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { collectStacks, columns, describeGaps, leafOf, moduleLabel, pct, sumValues, topFunctions, type StackData } from '../stack-family/stack-capture.js';
import { stackFiles } from '../stack-family/outputs.js';
import { newTgidLayout, stackKeyLayout } from '../stack-family/stack-maps.js';
import { pythonLayouts } from '../stack-family/python-stacks.js';
import { LOW_PRIORITY_NICE, profileAnalysis } from './analyze.js';
import { statFields } from '../../util/process-stat.js';
import { profileBaseline } from './baseline.js';
import { profileSetup } from './setup.js';
import { jvmGcTracker, type JvmGcWindow } from './jvm-gc.js';
import { forkersMemory, type ForkerMemory } from './forks.js';
import { busiestThreads, type BusiestThread } from './threads.js';

export type ProfileParams = typeof profileSetup.defaults;

export interface ProfileData extends StackData {
  /** Samples per second on each CPU. */
  frequency: number;
  /** Distinct processes sampled. */
  processes: number;
  /** The nice value of sampled processes that run at a low priority (nice 10 or more), by pid, read when the window ends. */
  niceness?: Record<string, number>;
  /** Sampled JVMs' collections over the window and their old generation at its end, by pid (their own counters: hsperfdata). */
  jvmGc?: Record<string, JvmGcWindow>;
  /** The memory of processes sampled copying their page tables in a fork, by pid, read when the window ends. */
  forkers?: Record<string, ForkerMemory>;
  /** The busiest thread of each of the processes sampled most, by pid, read when the window ends. */
  busiestThreads?: Record<string, BusiestThread>;
}

/** Low-priority processes among those sampled (nice is field 19 of /proc/PID/stat). */
function lowPriority(stacks: StackSample[]): Pick<ProfileData, 'niceness'> {
  const niceness: Record<string, number> = {};
  for (const pid of new Set(stacks.map((s) => s.pid))) {
    const nice = Number(statFields(pid)?.[16]);
    if (nice >= LOW_PRIORITY_NICE) niceness[pid] = nice;
  }
  return Object.keys(niceness).length ? { niceness } : {};
}

/** The sampled JVMs' collections over the window. */
function jvmCollections(tracker: ReturnType<typeof jvmGcTracker>, stacks: StackSample[]): Pick<ProfileData, 'jvmGc'> {
  const jvmGc = tracker.end(stacks.map((s) => s.pid));
  return Object.keys(jvmGc).length ? { jvmGc } : {};
}

export const profile: CaptureDefinition<ProfileParams, ProfileData> = {
  ...profileSetup,
  summary: 'on-CPU stacks sampled at a fixed frequency (flame graph, pprof, speedscope)',
  kind: 'stacks',
  analysis: profileAnalysis,
  baseline: profileBaseline,

  records: [stackKeyLayout, newTgidLayout, ...pythonLayouts],

  collect({ object, params, target }) {
    const jvmGc = jvmGcTracker();
    return collectStacks<bigint, StackSample, ProfileData>(object, {
      targetPids: target.tgids,
      jvmPerfMaps: params.jvmPerfMaps,
      decodeValue: (data) => data.readBigUInt64LE(0),
      toSample: (key, frames, count) => ({ pid: key.tgid, comm: key.comm, frames, value: Number(count) }),
      merge: (into, from) => void (into.value += from.value),
      ...(params.userStackBytes
        ? {
            snapshots: {
              snapshotBytes: params.userStackBytes,
              maxDepth: params.maxDepth,
              maxPending: 0,
              valueOf: BigInt,
              add: (a: bigint, b: bigint) => a + b,
            },
          }
        : {}),
      finish: (stacks, lostStacks, problem, gaps) => ({
        ...gaps,
        stacks,
        sampleType: { type: 'samples', unit: 'count' },
        periodNs: Math.round(1e9 / params.frequency),
        total: sumValues(stacks),
        lostStacks,
        top: params.top,
        ...(problem ? { kernelSymbolsProblem: problem } : {}),
        frequency: params.frequency,
        processes: new Set(stacks.map((s) => s.pid)).size,
        ...lowPriority(stacks),
        ...jvmCollections(jvmGc, stacks),
        ...forkersMemory(stacks),
        ...busiestThreads(stacks),
      }),
    });
  },

  table: (data) => ({ columns: stackColumns(data.total), rows: data.stacks.slice(0, data.top) }),
  text: profileText,
  count: (data) => data.stacks.length,
  files: stackFiles,
};

function stackColumns(total: number): Column<StackSample>[] {
  return [
    { header: 'PID', value: (s) => String(s.pid), numeric: true },
    { header: 'COMM', value: (s) => s.comm },
    { header: 'SAMPLES', value: (s) => String(s.value), numeric: true },
    { header: '%', value: (s) => pct(s.value, total), numeric: true },
    { header: 'MODULE', value: (s) => moduleLabel(leafOf(s)) },
    { header: 'LEAF', value: (s) => leafOf(s)?.name ?? '-' },
  ];
}

/** Top functions by self samples (where the CPU was), with their inclusive share. */
export function profileText(data: ProfileData): string {
  const seconds = data.total / Math.max(1, data.frequency);
  const head =
    `${data.total} samples at ${data.frequency} Hz (~${seconds.toFixed(2)} CPU-seconds), ${data.processes} processes, ` +
    `${data.stacks.length} distinct stacks` +
    describeGaps(data)
      .map((line) => `\n${line}`)
      .join('') +
    (data.kernelSymbolsProblem ? `\nkernel frames unnamed: ${data.kernelSymbolsProblem}` : '');
  if (!data.total) return `${head}\n(no samples)`;
  const rows = topFunctions(data.stacks)
    .filter((r) => r.self > 0)
    .slice(0, data.top)
    .map((r) => [String(r.self), pct(r.self, data.total), String(r.total), pct(r.total, data.total), r.module || '-', r.name]);
  return `${head}\n\n${columns(['SELF', '%', 'TOTAL', '%', 'MODULE', 'FUNCTION'], rows, new Set([0, 1, 2, 3]))}`;
}
