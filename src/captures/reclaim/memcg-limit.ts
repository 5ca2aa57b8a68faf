// The memory cgroup a stalled process reclaimed in, and the limit over it:
// the nearest cgroup on the path from it to the root with a limit set
// (v1 memory.limit_in_bytes, v2 memory.max), with its usage. Read at the
// window's end, while the cgroups are (most likely) still there.
import { controllerHierarchy, cgroupPaths, limitAbove } from '../cgroup-dirs.js';

export interface MemcgLimit {
  /** The process's memory cgroup ("/" is the root). */
  cgroup: string;
  /** The nearest cgroup with a limit, its limit and usage; absent when none has one. */
  limitedAt?: string;
  limitBytes?: number;
  usageBytes?: number;
  /** Its highest usage so far (v1 memory.max_usage_in_bytes, v2 memory.peak): at the limit while it stalled, whatever it uses by the end. */
  peakBytes?: number;
}

/** id → the cgroup's path and its nearest limit, for the ids given (one walk of the memory hierarchy). */
export function memcgLimits(ids: Set<bigint>): Map<bigint, MemcgLimit> {
  const hierarchy = controllerHierarchy('memory');
  const found = new Map<bigint, MemcgLimit>();
  if (!hierarchy || !ids.size) return found;
  for (const [id, path] of cgroupPaths(hierarchy.root, ids)) found.set(id, { cgroup: path, ...limitAbove(hierarchy, path) });
  return found;
}
