// How idle each CPU was over the window, from /proc/stat's per-CPU lines at
// both ends: beside the waits for a CPU, an idle CPU the waiters were not
// allowed on says their affinity, not the host, was short of CPUs.
import { cpuStatLines, totalTicks } from '../../util/proc-stat.js';
import { readText } from '../../util/read-text.js';

/** One CPU's idle (idle + iowait) and all ticks, as /proc/stat counts them. */
type Ticks = Map<number, { idle: number; total: number }>;

/** The "cpuN" lines: idle is idle + iowait. */
export function readCpuTicks(text = readText('/proc/stat') ?? ''): Ticks {
  const ticks: Ticks = new Map();
  for (const [label, f] of cpuStatLines(text)) {
    if (label === 'cpu' || f.length < 5) continue;
    ticks.set(Number(label.slice(3)), { idle: f[3]! + f[4]!, total: totalTicks(f) });
  }
  return ticks;
}

export interface CpuIdle {
  cpu: number;
  /** Share of the window the CPU was idle, 0-1. */
  idle: number;
}

/** Each CPU's idle share between two readings (CPUs seen in both, with time passed). */
export function idleBetween(start: Ticks, end: Ticks): CpuIdle[] {
  const out: CpuIdle[] = [];
  for (const [cpu, b] of end) {
    const a = start.get(cpu);
    const total = a ? b.total - a.total : 0;
    if (a && total > 0) out.push({ cpu, idle: Math.round(Math.min(1, Math.max(0, (b.idle - a.idle) / total)) * 1000) / 1000 });
  }
  return out.sort((x, y) => x.cpu - y.cpu);
}
