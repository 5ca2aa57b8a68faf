// Which memory cgroup ran out: of the victim's memory cgroup and its
// ancestors (as the kernel saw them at the kill), the nearest one with a
// limit that its usage had reached. Its limit is read back from its file
// (v1 memory.limit_in_bytes, v2 memory.max) when the cgroup is still there,
// else taken from the kernel's page counter. No limited cgroup full: the host
// itself ran out (a global OOM).
import { readFileSync } from 'node:fs';
import {
  cgroupPaths,
  controllerHierarchy,
  isMemoryLimit,
  memoryLimitFile,
  readCgroupFile,
  UNLIMITED_MEMORY_BYTES,
  type CgroupHierarchy,
} from '../cgroup-dirs.js';
import type { MemcgLevel, OomkillRecord } from './decode.js';

/** A page counter at or above this holds no limit (PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE). */
const UNLIMITED_BYTES = BigInt(UNLIMITED_MEMORY_BYTES);
/** Usage this close to the limit (or over it) counts as having reached it. */
const FULL_SHARE = 0.9;

export interface MemoryLimit {
  /** cgroup: a memory cgroup's limit; host: no cgroup limit was reached (global OOM). */
  scope: 'cgroup' | 'host';
  /** The cgroup's path on the memory hierarchy ("/" is its root); undefined when it is gone. */
  cgroup?: string;
  cgroupId?: string;
  limitBytes: number;
  usageBytes?: number;
  /** Where limitBytes came from. */
  source: 'memory.limit_in_bytes' | 'memory.max' | 'page counter' | '/proc/meminfo';
}

export interface MemcgNames {
  hierarchy?: CgroupHierarchy;
  paths: Map<bigint, string>;
}

/** Paths of every memory cgroup the records name, in one walk of the hierarchy. */
export function memcgNames(records: OomkillRecord[]): MemcgNames {
  const hierarchy = controllerHierarchy('memory');
  const wanted = new Set<bigint>();
  for (const r of records) {
    for (const m of r.memcgs) if (m.cgroupId) wanted.add(m.cgroupId);
    if (r.triggerMemcgId) wanted.add(r.triggerMemcgId);
  }
  return { hierarchy, paths: hierarchy && wanted.size ? cgroupPaths(hierarchy.root, wanted) : new Map() };
}

function limited(m: MemcgLevel, pageSize: number): boolean {
  return m.maxPages * BigInt(pageSize) < UNLIMITED_BYTES;
}

/** The limit the kill answered. */
export function limitReached(record: OomkillRecord, names: MemcgNames, pageSize: number): MemoryLimit {
  const bytes = (pages: bigint) => Number(pages * BigInt(pageSize));
  const withLimit = record.memcgs.filter((m) => limited(m, pageSize));
  const full = withLimit.find((m) => Number(m.usagePages) >= FULL_SHARE * Number(m.maxPages)) ?? withLimit[0];
  if (!full) return { scope: 'host', limitBytes: memTotalBytes(), source: '/proc/meminfo' };
  const path = names.paths.get(full.cgroupId);
  const limit: MemoryLimit = {
    scope: 'cgroup',
    ...(path ? { cgroup: path } : {}),
    cgroupId: full.cgroupId.toString(),
    limitBytes: bytes(full.maxPages),
    usageBytes: bytes(full.usagePages),
    source: 'page counter',
  };
  const fromFile = path && names.hierarchy ? limitFile(names.hierarchy, path) : undefined;
  if (fromFile) Object.assign(limit, fromFile);
  return limit;
}

/** The cgroup's limit as its file says now (v1 memory.limit_in_bytes, v2 memory.max). */
function limitFile(h: CgroupHierarchy, path: string): Pick<MemoryLimit, 'limitBytes' | 'source'> | undefined {
  const file = memoryLimitFile(h);
  const text = readCgroupFile(h.root, path, file);
  return isMemoryLimit(text) ? { limitBytes: Number(text), source: file } : undefined;
}

function memTotalBytes(): number {
  try {
    const kb = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}
