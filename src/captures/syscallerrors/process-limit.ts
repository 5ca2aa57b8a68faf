// What limit a process that cannot fork (EAGAIN from clone) ran into: the
// pids cgroup nearest it with a limit (pids.max against pids.current; v1's
// pids hierarchy or v2's tree), its RLIMIT_NPROC, and the host's tasks against
// kernel.pid_max and kernel.threads-max, read once at its first failure. A
// container's pids.max is the usual one; a thread or helper leak fills it; a
// host of many threads (or zombies) runs out of pids for everyone.
import { readFileSync } from 'node:fs';
import { controllerHierarchy, readCgroupFile } from '../cgroup-dirs.js';
import { fmtCount } from '../../format/index.js';

export interface ProcessLimit {
  /** The nearest pids cgroup with a limit, from the process's own up. */
  cgroup?: { path: string; max: number; current: number };
  /** RLIMIT_NPROC's soft limit (the user's processes and threads), when not unlimited. */
  nproc?: number;
  /** The process's own threads. */
  threads?: number;
  /** Every task on the host (threads included) against the lower of kernel.pid_max and kernel.threads-max. */
  host?: { tasks: number; limit: number; setting: 'kernel.pid_max' | 'kernel.threads-max' };
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
  const host = hostTasks();
  return {
    ...(cgroup ? { cgroup } : {}),
    ...(nproc !== undefined ? { nproc } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(host ? { host } : {}),
  };
}

/** The host's tasks (/proc/loadavg: running/total) and the lower of its two task limits. */
function hostTasks(): ProcessLimit['host'] {
  const tasks = field('/proc/loadavg', /\d+\/(\d+)/);
  const pidMax = field('/proc/sys/kernel/pid_max', /(\d+)/);
  const threadsMax = field('/proc/sys/kernel/threads-max', /(\d+)/);
  if (tasks === undefined || pidMax === undefined) return undefined;
  return threadsMax !== undefined && threadsMax < pidMax
    ? { tasks, limit: threadsMax, setting: 'kernel.threads-max' }
    : { tasks, limit: pidMax, setting: 'kernel.pid_max' };
}

/** At its limit, or within 5% of it (it was read a moment after the failure). */
const nearly = (current: number, max: number) => current >= max * 0.95;

/** The limit it is at: "at 8 of the 8 tasks its cgroup /svc allows (pids.max)", the host's pid_max or threads-max, or its RLIMIT_NPROC. */
export function processLimitText(l: ProcessLimit): string | undefined {
  const own = l.threads ? `, ${l.threads} of them its own threads` : '';
  const cgroup = l.cgroup && `at ${l.cgroup.current} of the ${l.cgroup.max} tasks its cgroup ${l.cgroup.path} allows (pids.max)${own}`;
  if (l.cgroup && nearly(l.cgroup.current, l.cgroup.max)) return cgroup;
  // Not its cgroup: the host's pids (or threads) may be gone for every process.
  if (l.host && nearly(l.host.tasks, l.host.limit))
    return `with ${fmtCount(l.host.tasks)} tasks on the host, at the ${fmtCount(l.host.limit)} its ${l.host.setting} allows (threads count; zombies hold theirs)`;
  if (l.nproc !== undefined) return `under RLIMIT_NPROC ${l.nproc} (its user's processes and threads)`;
  return cgroup;
}

function field(file: string, pattern: RegExp): number | undefined {
  try {
    const n = Number(pattern.exec(readFileSync(file, 'utf8'))?.[1]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
