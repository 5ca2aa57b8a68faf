// The hypervisor's share of this machine's CPUs: steal time (/proc/stat), the
// time its virtual CPUs had work but were not run because the host ran
// something else (other guests, or a burstable instance out of CPU credits).
// Read at both window ends beside the cgroups' throttling: both are CPU time
// taken from the workload.
import { cpuStatLines, totalTicks } from '../../util/proc-stat.js';
import { readText } from '../../util/read-text.js';

/** /proc/stat counts in USER_HZ ticks, 100 a second on Linux. */
const TICK_MS = 10;

export interface CpuTimes {
  /** Summed over CPUs, in ms. */
  stealMs: number;
  totalMs: number;
  cpus: number;
}

/** The "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal ...; undefined when unreadable. */
export function readCpuTimes(text = readText('/proc/stat') ?? ''): CpuTimes | undefined {
  const lines = cpuStatLines(text);
  const all = lines.get('cpu');
  if (!all || all.length < 8) return undefined;
  return { stealMs: all[7]! * TICK_MS, totalMs: totalTicks(all) * TICK_MS, cpus: [...lines.keys()].filter((l) => l !== 'cpu').length };
}

/** What the window took: its steal and all CPU time (ms, summed over CPUs). */
export function stealBetween(start: CpuTimes, end: CpuTimes): CpuTimes {
  return { stealMs: Math.max(0, end.stealMs - start.stealMs), totalMs: Math.max(0, end.totalMs - start.totalMs), cpus: end.cpus };
}
