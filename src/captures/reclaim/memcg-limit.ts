// The memory cgroup a stalled process reclaimed in, and the limit over it:
// the nearest cgroup on the path from it to the root with a limit set
// (v1 memory.limit_in_bytes, v2 memory.max), with its usage. Read at the
// window's end, while the cgroups are (most likely) still there.
import { controllerHierarchy, cgroupPaths, isMemoryLimit, memoryLimitFile, readCgroupFile } from '../cgroup-dirs.js';

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
  const limitFile = memoryLimitFile(hierarchy);
  const [usageFile, peakFile] = hierarchy.version === 1 ? ['memory.usage_in_bytes', 'memory.max_usage_in_bytes'] : ['memory.current', 'memory.peak'];
  for (const [id, path] of cgroupPaths(hierarchy.root, ids)) {
    const entry: MemcgLimit = { cgroup: path };
    for (let at = path; ; at = at.slice(0, at.lastIndexOf('/')) || '/') {
      const text = readCgroupFile(hierarchy.root, at, limitFile);
      if (isMemoryLimit(text)) {
        const limit = Number(text);
        const usage = Number(readCgroupFile(hierarchy.root, at, usageFile) ?? Number.NaN);
        const peak = Number(readCgroupFile(hierarchy.root, at, peakFile) ?? Number.NaN);
        Object.assign(entry, {
          limitedAt: at,
          limitBytes: limit,
          ...(Number.isFinite(usage) ? { usageBytes: usage } : {}),
          ...(Number.isFinite(peak) ? { peakBytes: peak } : {}),
        });
        break;
      }
      if (at === '/') break;
    }
    found.set(id, entry);
  }
  return found;
}
