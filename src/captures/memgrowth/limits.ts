// How much room a growing process has left: the nearest memory cgroup limit
// over it (v1 memory.limit_in_bytes, v2 memory.max) and that cgroup's usage,
// and the host's available memory (/proc/meminfo MemAvailable).
import { cgroupDirOf, currentHierarchies, type Controller } from '../../cgroups/hierarchy.js';
import { limitAbove } from '../cgroup-dirs.js';
import { readText } from '../../util/read-text.js';

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

/** The host's available memory (MemAvailable), bytes; undefined when /proc/meminfo has none. */
export function hostAvailableBytes(): number | undefined {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(readText('/proc/meminfo') ?? '')?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}
