// How much room a growing process has left under its memory cgroup: the
// nearest limit over it (v1 memory.limit_in_bytes, v2 memory.max) and that
// cgroup's usage (the host's available memory is util/meminfo.ts).
import { cgroupDirOf, currentHierarchies, type Controller } from '../../cgroups/hierarchy.js';
import { limitAbove } from '../cgroup-dirs.js';

const MEMORY: Controller = { v1: 'memory', v2: 'memory' };

export interface MemoryLimit {
  /** The cgroup with the limit, relative to its hierarchy's mount. */
  cgroup: string;
  limitBytes: number;
  usageBytes: number;
}

/** The nearest memory limit over pid, or undefined when none is set (or its cgroup cannot be read). */
export function memoryLimitOf(pid: number): MemoryLimit | undefined {
  const h = currentHierarchies(MEMORY)[0];
  const dir = h && cgroupDirOf(h, MEMORY, pid);
  if (!h || !dir) return undefined;
  const limit = limitAbove({ root: h.mount, version: h.version }, dir.slice(h.mount.length) || '/');
  return limit && { cgroup: limit.limitedAt, limitBytes: limit.limitBytes, usageBytes: limit.usageBytes ?? 0 };
}
