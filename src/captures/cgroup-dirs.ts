// Cgroup directories by id: the kernel names a cgroup by its kernfs id, which
// is the inode of its directory on that controller's hierarchy. Used to turn
// ids from BPF records into paths and into the files beside them (limits).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mountTable } from '../cgroups/mount.js';

export interface CgroupHierarchy {
  /** Mount point: /sys/fs/cgroup/memory (v1), /sys/fs/cgroup or /sys/fs/cgroup/unified (v2). */
  root: string;
  version: 1 | 2;
}

/** Where a controller lives: its v1 hierarchy when one has it, else the v2 tree. */
export function controllerHierarchy(controller: string): CgroupHierarchy | undefined {
  const all = mountTable();
  const v1 = all.find((m) => m[2] === 'cgroup' && (m[3] ?? '').split(',').includes(controller));
  if (v1) return { root: v1[1]!, version: 1 };
  const v2 = all.find((m) => m[2] === 'cgroup2');
  return v2 ? { root: v2[1]!, version: 2 } : undefined;
}

/** id → path under the hierarchy ("/" for its root) for the wanted ids; a bounded breadth-first walk. */
export function cgroupPaths(root: string, wanted: Set<bigint>, maxDirs = 20_000): Map<bigint, string> {
  const found = new Map<bigint, string>();
  const queue: string[] = [''];
  let seen = 0;
  while (queue.length && seen++ < maxDirs && found.size < wanted.size) {
    const rel = queue.shift()!;
    const dir = join(root, rel);
    try {
      const ino = statSync(dir, { bigint: true }).ino;
      if (wanted.has(ino)) found.set(ino, rel ? `/${rel}` : '/');
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) queue.push(rel ? `${rel}/${e.name}` : e.name);
    } catch {
      // removed while we walked
    }
  }
  return found;
}

/** A cgroup file's first line, or undefined when it is not there. */
export function readCgroupFile(root: string, path: string, file: string): string | undefined {
  try {
    return readFileSync(join(root, path, file), 'utf8')
      .split('\n')[0]!
      .trim();
  } catch {
    return undefined;
  }
}

/** v1's "no limit" is a page-rounded LONG_MAX; a memory limit this large is none. */
export const UNLIMITED_MEMORY_BYTES = 2 ** 60;

/** The file a memory cgroup's own limit is in: v1 memory.limit_in_bytes, v2 memory.max. */
export const memoryLimitFile = (h: CgroupHierarchy) => (h.version === 1 ? 'memory.limit_in_bytes' : 'memory.max');

/** Whether a memory limit file's text is a limit: a byte count below "none" (v2 writes "max" for none). */
export const isMemoryLimit = (text: string | undefined): text is string => text !== undefined && /^\d+$/.test(text) && Number(text) < UNLIMITED_MEMORY_BYTES;

/** A memory limit over a cgroup: where it is set, the limit, and that cgroup's usage and peak usage (v1 max_usage_in_bytes, v2 memory.peak). */
export interface MemoryLimitAt {
  limitedAt: string;
  limitBytes: number;
  usageBytes?: number;
  peakBytes?: number;
}

/** The nearest cgroup on the path from `path` ("/a/b") up to the root with a memory limit set, with its usage and peak; undefined when none has one. */
export function limitAbove(hierarchy: CgroupHierarchy, path: string): MemoryLimitAt | undefined {
  const limitFile = memoryLimitFile(hierarchy);
  const [usageFile, peakFile] = hierarchy.version === 1 ? ['memory.usage_in_bytes', 'memory.max_usage_in_bytes'] : ['memory.current', 'memory.peak'];
  for (let at = path; ; at = at.slice(0, at.lastIndexOf('/')) || '/') {
    const text = readCgroupFile(hierarchy.root, at, limitFile);
    if (isMemoryLimit(text)) {
      const usage = Number(readCgroupFile(hierarchy.root, at, usageFile) ?? Number.NaN);
      const peak = Number(readCgroupFile(hierarchy.root, at, peakFile) ?? Number.NaN);
      return {
        limitedAt: at,
        limitBytes: Number(text),
        ...(Number.isFinite(usage) ? { usageBytes: usage } : {}),
        ...(Number.isFinite(peak) ? { peakBytes: peak } : {}),
      };
    }
    if (at === '/') return undefined;
  }
}
