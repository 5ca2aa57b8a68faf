// Reads CPU bandwidth control from cgroup files, both versions: where the cpu
// controller is mounted (/proc/self/mountinfo), a cgroup's quota and period
// (v1 cpu.cfs_quota_us + cpu.cfs_period_us, v2 cpu.max) and its throttling
// counters (cpu.stat: nr_periods, nr_throttled, throttled_time ns in v1,
// throttled_usec in v2). Missing files read as undefined, never throw.
import { join } from 'node:path';
import { controllerHierarchies, currentHierarchies, keyedNumbers, type CgroupHierarchy, type Controller } from '../../cgroups/hierarchy.js';
import { readText } from '../../util/read-text.js';

/** The cpu controller's hierarchies: a v1 "cpu" mount, v2 with "cpu" in cgroup.controllers. */
export const CPU: Controller = { v1: 'cpu', v2: 'cpu' };
export type CpuHierarchy = CgroupHierarchy;

export interface CpuStat {
  periods: number;
  throttledPeriods: number;
  throttledUs: number;
  /** CPU time used (v2 cpu.stat usage_usec, v1 cpuacct.usage when beside it). */
  usageUs?: number;
}

export interface CpuLimit {
  /** undefined: no quota ("max" / -1). */
  quotaUs?: number;
  periodUs: number;
}

/** The hierarchies the cpu controller is on here. */
export const cpuHierarchies = (mountinfo?: string): CpuHierarchy[] => controllerHierarchies(CPU, mountinfo);

/** cpuHierarchies() as read within the last second. */
export const currentCpuHierarchies = (now?: number): CpuHierarchy[] => currentHierarchies(CPU, now);

/**
 * cpu.stat of the cgroup at `dir`, or undefined when it has none (no cpu controller there).
 * `usage: false`: without v1's CPU time (cpuacct.usage, a file more), for a walk that only chooses.
 */
export function readCpuStat(h: CpuHierarchy, dir: string, { usage = true } = {}): CpuStat | undefined {
  const text = readText(join(dir, 'cpu.stat'));
  if (text === undefined) return undefined;
  const s = keyedNumbers(text);
  if (h.version === 2) {
    return {
      periods: s.get('nr_periods') ?? 0,
      throttledPeriods: s.get('nr_throttled') ?? 0,
      throttledUs: s.get('throttled_usec') ?? 0,
      ...(s.has('usage_usec') ? { usageUs: s.get('usage_usec')! } : {}),
    };
  }
  const usageNs = usage ? Number((readText(join(dir, 'cpuacct.usage')) ?? '').trim()) : Number.NaN;
  return {
    periods: s.get('nr_periods') ?? 0,
    throttledPeriods: s.get('nr_throttled') ?? 0,
    throttledUs: Math.round((s.get('throttled_time') ?? 0) / 1000),
    ...(Number.isFinite(usageNs) && usageNs > 0 ? { usageUs: Math.round(usageNs / 1000) } : {}),
  };
}

/** The quota and period at `dir`, or undefined when the files are missing. */
export function readCpuLimit(h: CpuHierarchy, dir: string): CpuLimit | undefined {
  if (h.version === 2) {
    const text = readText(join(dir, 'cpu.max'));
    if (text === undefined) return undefined;
    const [quota, period] = text.trim().split(/\s+/);
    const periodUs = Number(period);
    if (!Number.isFinite(periodUs) || periodUs <= 0) return undefined;
    return quota === 'max' || quota === undefined ? { periodUs } : { quotaUs: Number(quota), periodUs };
  }
  const quota = Number((readText(join(dir, 'cpu.cfs_quota_us')) ?? '').trim());
  const periodUs = Number((readText(join(dir, 'cpu.cfs_period_us')) ?? '').trim());
  if (!Number.isFinite(periodUs) || periodUs <= 0 || !Number.isFinite(quota)) return undefined;
  return quota < 0 ? { periodUs } : { quotaUs: quota, periodUs };
}

/** Whether the cgroup at `dir` has a CPU quota of its own: one file, where readCpuLimit reads two on v1. */
export function hasCpuQuota(h: CpuHierarchy, dir: string): boolean {
  if (h.version === 2) {
    const quota = readText(join(dir, 'cpu.max'))?.trim().split(/\s+/)[0];
    return quota !== undefined && quota !== '' && quota !== 'max';
  }
  const quota = Number((readText(join(dir, 'cpu.cfs_quota_us')) ?? '').trim());
  return Number.isFinite(quota) && quota >= 0;
}
