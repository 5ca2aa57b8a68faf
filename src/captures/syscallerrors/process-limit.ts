// What limit a process that cannot fork (EAGAIN from clone) ran into: the
// pids cgroup nearest it with a limit (pids.max against pids.current; v1's
// pids hierarchy or v2's tree), and its RLIMIT_NPROC, read once at its first
// failure. A container's pids.max is the usual one; a thread or helper leak fills it.
import { readFileSync } from 'node:fs';
import { controllerHierarchy, readCgroupFile } from '../cgroup-dirs.js';

export interface ProcessLimit {
  /** The nearest pids cgroup with a limit, from the process's own up. */
  cgroup?: { path: string; max: number; current: number };
  /** RLIMIT_NPROC's soft limit (the user's processes and threads), when not unlimited. */
  nproc?: number;
  /** The process's own threads. */
  threads?: number;
}

export function processLimit(pid: number): ProcessLimit | undefined {
  let cgroupFile: string;
  try {
    cgroupFile = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined; // gone
  }
  const h = controllerHierarchy('pids');
  const line = cgroupFile.split('\n').find((l) => (h?.version === 1 ? /^\d+:([^:]*,)?pids(,[^:]*)?:/.test(l) : l.startsWith('0::')));
  let path = line?.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
  let cgroup: ProcessLimit['cgroup'];
  while (h && path !== undefined && !cgroup) {
    const max = readCgroupFile(h.root, path, 'pids.max');
    if (max !== undefined && /^\d+$/.test(max)) cgroup = { path, max: Number(max), current: Number(readCgroupFile(h.root, path, 'pids.current')) || 0 };
    path = path === '/' ? undefined : path.slice(0, path.lastIndexOf('/')) || '/';
  }
  const nproc = field(`/proc/${pid}/limits`, /^Max processes\s+(\d+)/m);
  const threads = field(`/proc/${pid}/status`, /^Threads:\s+(\d+)/m);
  return { ...(cgroup ? { cgroup } : {}), ...(nproc !== undefined ? { nproc } : {}), ...(threads !== undefined ? { threads } : {}) };
}

/** "at 8 of the 8 tasks its cgroup /svc allows (pids.max)", or its RLIMIT_NPROC. */
export function processLimitText(l: ProcessLimit): string | undefined {
  if (l.cgroup)
    return `at ${l.cgroup.current} of the ${l.cgroup.max} tasks its cgroup ${l.cgroup.path} allows (pids.max)${l.threads ? `, ${l.threads} of them its own threads` : ''}`;
  if (l.nproc !== undefined) return `under RLIMIT_NPROC ${l.nproc} (its user's processes and threads)`;
  return undefined;
}

function field(file: string, pattern: RegExp): number | undefined {
  try {
    const n = Number(pattern.exec(readFileSync(file, 'utf8'))?.[1]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
