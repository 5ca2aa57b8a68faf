// Which cgroups cputhrottle reads: the target's (each selected process's cpu
// cgroup and its ancestors up to the root: a quota on a parent throttles the
// children), or, with no target, every cgroup with a quota or throttling.
import { cgroupsOf, walkCgroups } from '../../cgroups/hierarchy.js';
import type { ResolvedTarget } from '../target.js';
import { targetPids } from '../target-processes.js';
import { CPU, hasCpuQuota, readCpuStat, type CpuHierarchy, type CpuStat } from './cgroup-cpu.js';

export interface Scope {
  /** cgroup directories, each with its hierarchy. */
  cgroups: Map<string, CpuHierarchy>;
  /** The walk stopped at maxCgroups. */
  truncated: boolean;
  /** cpu.stat of the cgroups the walk read it for (to choose them): read once, the snapshot uses it. */
  stats: Map<string, CpuStat>;
}

const hasTarget = (t: ResolvedTarget) => t.tgids !== undefined || t.comm !== undefined || t.uid !== undefined || t.cgroupId !== undefined;

export function resolveScope(hierarchies: CpuHierarchy[], target: ResolvedTarget, maxCgroups: number): Scope {
  const stats = new Map<string, CpuStat>();
  if (hasTarget(target)) return { ...cgroupsOf(targetPids(target), hierarchies, CPU, maxCgroups), stats };
  const cgroups = new Map<string, CpuHierarchy>();
  let truncated = false;
  for (const h of hierarchies) {
    const walk = walkCgroups(h, maxCgroups - cgroups.size);
    truncated ||= walk.truncated;
    // Chosen on the fewest files (a container host has hundreds of cgroups, read at the window's start and end):
    // throttling counters, then the quota alone; v1's CPU time only for the few chosen.
    for (const dir of walk.dirs) {
      const stat = readCpuStat(h, dir, { usage: false });
      if (!stat) continue; // no cpu controller there
      if (stat.throttledPeriods > 0 || hasCpuQuota(h, dir)) {
        cgroups.set(dir, h);
        const whole = h.version === 1 ? readCpuStat(h, dir) : stat;
        if (whole) stats.set(dir, whole);
      }
    }
  }
  return { cgroups, truncated, stats };
}
