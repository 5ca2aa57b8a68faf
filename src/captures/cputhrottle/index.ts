// cputhrottle: CPU bandwidth throttling per cgroup (service, container):
// periods throttled, time throttled and the quota, read from the cgroup
// files at the window's start and end (cpu.stat deltas, v1 and v2), with the
// processes in each. No BPF object: the kernel already counts this exactly
// (CaptureDefinition.sample).
import { relative } from 'node:path';
import { cgroupService } from '../../cgroups/container.js';
import { NotSupportedError } from '../../libbpf/index.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { processesColumn } from '../process-column.js';
import { analyzeCputhrottle } from './analyze.js';
import { cputhrottleBaseline } from './baseline.js';
import { commOf, processesUnder as pidsUnder } from '../../cgroups/hierarchy.js';
import { currentCpuHierarchies, readCpuLimit, readCpuStat, type CpuHierarchy, type CpuStat } from './cgroup-cpu.js';
import { resolveScope } from './scope.js';
import { cputhrottleSetup } from './setup.js';
import { readCpuTimes, stealBetween, type CpuTimes } from './steal.js';

export type CputhrottleParams = typeof cputhrottleSetup.defaults;

export interface ThrottleProcess {
  pid: number;
  comm: string;
}

export interface ThrottleRow {
  /** Path in its hierarchy, "/" for the root. */
  cgroup: string;
  hierarchy: 'v1' | 'v2';
  /** Who it is, from its path: the systemd unit, else the container (runtime:short id) or pod, else its last element. */
  service: string;
  containerId?: string;
  podUid?: string;
  /** undefined: no quota on this cgroup itself (an ancestor may have one). */
  quotaUs?: number;
  periodUs: number;
  /** quota ÷ period: the CPUs' worth it may use. */
  limitCpus?: number;
  /** During the window (end − start). */
  periods: number;
  throttledPeriods: number;
  throttledUs: number;
  /** CPU time used in the window, where the kernel reports it. */
  usageUs?: number;
  processes: ThrottleProcess[];
  processCount: number;
}

export interface CputhrottleData {
  rows: ThrottleRow[];
  /** What was read: the target's cgroups and their ancestors, or every cgroup with a quota. */
  scope: 'target' | 'quota';
  /** Window length as sampled (µs between the two reads). */
  windowUs: number;
  /** cgroups left out at maxCgroups. */
  truncated: boolean;
  /** cgroups that went away during the window (not in rows). */
  vanished: number;
  /** The whole machine over the window: CPU time the hypervisor took (steal) of all CPU time, summed over CPUs. */
  host?: CpuTimes;
}

interface Snapshot {
  at: number;
  stats: Map<string, { h: CpuHierarchy; stat: CpuStat }>;
}

/** cpu.stat of every cgroup in scope, taking those the scope's walk has just read. */
function snapshot(scope: Map<string, CpuHierarchy>, read: Map<string, CpuStat>): Snapshot {
  const stats = new Map<string, { h: CpuHierarchy; stat: CpuStat }>();
  for (const [dir, h] of scope) {
    const stat = read.get(dir) ?? readCpuStat(h, dir);
    if (stat) stats.set(dir, { h, stat });
  }
  return { at: performance.now(), stats };
}

function processesUnder(h: CpuHierarchy, dir: string, max: number): { processes: ThrottleProcess[]; count: number } {
  const { pids, count } = pidsUnder(h, dir, max);
  return { processes: pids.map((pid) => ({ pid, comm: commOf(pid) })), count };
}

/** The hierarchies, or the reason the capture cannot run here (the run's other captures go on). */
export function requireCpuHierarchies(found: CpuHierarchy[]): CpuHierarchy[] {
  if (found.length) return found;
  throw new NotSupportedError(
    'the cgroup cpu controller',
    'is not mounted here (no cgroup v1 "cpu" hierarchy, and cgroup v2 has no cpu controller): throttling cannot be read',
  );
}

export const cputhrottle: CaptureDefinition<CputhrottleParams, CputhrottleData> = {
  ...cputhrottleSetup,
  summary: 'CPU throttling by cgroup quota: periods and time throttled in the window, the quota, the processes',
  kind: 'counters',

  sample({ params, target }) {
    const hierarchies = requireCpuHierarchies(currentCpuHierarchies());
    const targeted = target.tgids !== undefined || target.comm !== undefined || target.uid !== undefined || target.cgroupId !== undefined;
    const first = resolveScope(hierarchies, target, params.maxCgroups);
    const start = snapshot(first.cgroups, first.stats);
    const cpuAtStart = readCpuTimes();
    return {
      finish() {
        const cpuAtEnd = readCpuTimes();
        // Again at the end: cgroups (and target processes) that appeared during the window count from zero.
        const last = resolveScope(hierarchies, target, params.maxCgroups);
        const scope = new Map([...first.cgroups, ...last.cgroups]);
        const end = snapshot(scope, last.stats);
        const rows: ThrottleRow[] = [];
        let vanished = 0;
        for (const [dir, h] of scope) {
          const now = end.stats.get(dir);
          if (!now) {
            if (start.stats.has(dir)) vanished++;
            continue;
          }
          const before = start.stats.get(dir)?.stat;
          const limit = readCpuLimit(h, dir);
          const delta = (k: keyof CpuStat) => Math.max(0, (now.stat[k] ?? 0) - (before?.[k] ?? 0));
          const { processes, count } = processesUnder(h, dir, params.maxProcesses);
          const path = `/${relative(h.mount, dir)}`;
          rows.push({
            cgroup: path,
            hierarchy: h.version === 1 ? 'v1' : 'v2',
            ...cgroupService(path),
            ...(limit?.quotaUs !== undefined ? { quotaUs: limit.quotaUs, limitCpus: limit.quotaUs / limit.periodUs } : {}),
            periodUs: limit?.periodUs ?? 100_000,
            periods: delta('periods'),
            throttledPeriods: delta('throttledPeriods'),
            throttledUs: delta('throttledUs'),
            ...(now.stat.usageUs !== undefined ? { usageUs: delta('usageUs') } : {}),
            processes,
            processCount: count,
          });
        }
        rows.sort((a, b) => b.throttledUs - a.throttledUs || b.throttledPeriods - a.throttledPeriods || (a.cgroup < b.cgroup ? -1 : 1));
        return {
          rows,
          scope: targeted ? 'target' : 'quota',
          windowUs: Math.round((end.at - start.at) * 1000),
          truncated: first.truncated || last.truncated,
          vanished,
          ...(cpuAtStart && cpuAtEnd ? { host: stealBetween(cpuAtStart, cpuAtEnd) } : {}),
        };
      },
    };
  },

  table: (data) => ({ columns: throttleColumns, rows: data.rows }),
  count: (data) => data.rows.length,
  analysis: { checks: 'CPU throttling', analyze: analyzeCputhrottle },
  baseline: cputhrottleBaseline,
};

const ms = (us: number) => (us / 1000).toFixed(us >= 100_000 ? 0 : 1);

const throttleColumns: Column<ThrottleRow>[] = [
  { header: 'CGROUP', value: (r) => `${r.cgroup} (${r.hierarchy})` },
  { header: 'QUOTA', value: (r) => (r.quotaUs !== undefined ? `${ms(r.quotaUs)}/${ms(r.periodUs)} ms` : '-'), numeric: true },
  { header: 'PERIODS', value: (r) => String(r.periods), numeric: true },
  { header: 'THROTTLED', value: (r) => String(r.throttledPeriods), numeric: true },
  { header: 'THROTTLED ms', value: (r) => ms(r.throttledUs), numeric: true },
  processesColumn<ThrottleRow>(),
];
