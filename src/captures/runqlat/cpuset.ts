// Where a pinned process's CPUs come from: its cgroup's cpuset (a container's
// --cpuset-cpus, Kubernetes' static CPU manager, a systemd AllowedCPUs=) or
// its own affinity (taskset, sched_setaffinity). The finding says which one
// to change.
import { join } from 'node:path';
import { cgroupDirOf, currentHierarchies, type Controller } from '../../cgroups/hierarchy.js';
import { parseCpuList } from '../../util/cpu-list.js';
import { readText } from '../../util/read-text.js';

const CPUSET: Controller = { v1: 'cpuset', v2: 'cpuset' };

/** The path of the cpuset cgroup (below its hierarchy's root) whose CPUs are exactly `cpus`, the process's allowed ones; undefined when its own affinity narrowed them. */
export function cpusetOf(pid: number, cpus: number[]): string | undefined {
  for (const h of currentHierarchies(CPUSET)) {
    const dir = cgroupDirOf(h, CPUSET, pid);
    if (!dir || dir === h.mount) continue; // the root cpuset has every CPU
    const text = readText(join(dir, h.version === 1 ? 'cpuset.effective_cpus' : 'cpuset.cpus.effective'));
    const set = text ? parseCpuList(text) : [];
    if (set.length === cpus.length && set.every((cpu, i) => cpu === cpus[i])) return dir.slice(h.mount.length);
  }
  return undefined;
}
