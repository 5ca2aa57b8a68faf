// Which cgroups cputhrottle reads: the target's (each selected process's cpu
// cgroup and its ancestors up to the root: a quota on a parent throttles the
// children), or, with no target, every cgroup with a quota or throttling.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ResolvedTarget } from '../target.js';
import { cgroupDirOf, readCpuLimit, readCpuStat, walkCgroups, type CpuHierarchy } from './cgroup-cpu.js';

/** Bound of the /proc scan for comm/uid/cgroup targets. */
const MAX_PROC_SCAN = 65_536;

export interface Scope {
  /** cgroup directories, each with its hierarchy. */
  cgroups: Map<string, CpuHierarchy>;
  /** The walk stopped at maxCgroups. */
  truncated: boolean;
}

const hasTarget = (t: ResolvedTarget) => t.tgids !== undefined || t.comm !== undefined || t.uid !== undefined || t.cgroupId !== undefined;

export function resolveScope(hierarchies: CpuHierarchy[], target: ResolvedTarget, maxCgroups: number): Scope {
  const cgroups = new Map<string, CpuHierarchy>();
  let truncated = false;
  if (hasTarget(target)) {
    for (const pid of targetPids(target)) {
      for (const h of hierarchies) {
        for (let dir = cgroupDirOf(h, pid); dir && dir.startsWith(h.mount); dir = dir === h.mount ? undefined : dirname(dir)) {
          if (cgroups.size >= maxCgroups) truncated = true;
          else cgroups.set(dir, h);
        }
      }
    }
    return { cgroups, truncated };
  }
  for (const h of hierarchies) {
    const walk = walkCgroups(h, maxCgroups - cgroups.size);
    truncated ||= walk.truncated;
    for (const dir of walk.dirs) {
      const limit = readCpuLimit(h, dir);
      if (limit?.quotaUs !== undefined || (readCpuStat(h, dir)?.throttledPeriods ?? 0) > 0) cgroups.set(dir, h);
    }
  }
  return { cgroups, truncated };
}

/** The target's processes now: its tgids, or those matching its comm, uid and v2 cgroup id. */
export function targetPids(target: ResolvedTarget): number[] {
  const candidates = target.tgids ?? allPids();
  return candidates.filter((pid) => {
    if (target.comm !== undefined && readOr(`/proc/${pid}/comm`).trim() !== target.comm) return false;
    if (target.uid !== undefined && uidOf(pid) !== target.uid) return false;
    if (target.cgroupId !== undefined && v2CgroupIdOf(pid) !== target.cgroupId) return false;
    return true;
  });
}

function allPids(): number[] {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).slice(0, MAX_PROC_SCAN).map(Number);
  } catch {
    return [];
  }
}

const readOr = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

function uidOf(pid: number): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(readOr(`/proc/${pid}/status`));
  return m ? Number(m[1]) : undefined;
}

/** The v2 cgroup id (its directory's inode) of pid's "0::" cgroup, on whichever cgroup2 mount exists. */
function v2CgroupIdOf(pid: number): bigint | undefined {
  const m = /^0::(.*)$/m.exec(readOr(`/proc/${pid}/cgroup`));
  if (!m) return undefined;
  for (const root of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
    try {
      const st = statSync(join(root, m[1]!), { bigint: true });
      if (st.isDirectory()) return st.ino;
    } catch {
      // not this mount
    }
  }
  return undefined;
}
