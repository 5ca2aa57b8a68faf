// The processes a resolved target selects, read from /proc now: for captures
// that read the system rather than filter in the kernel (cputhrottle), or
// that attribute in user space (tcpdrop, tcpflow: a socket's owner by its inode).
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { processCgroup2Id } from '../cgroups/process-cgroup.js';
import type { ResolvedTarget } from './target.js';

/** Bound of the /proc scan. */
const MAX_PROC_SCAN = 65_536;

/** Does the target select processes at all (else: everything)? */
export const targetSelects = (t: ResolvedTarget): boolean => t.tgids !== undefined || t.comm !== undefined || t.uid !== undefined || t.cgroupId !== undefined;

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

/** The pids in /proc now, at most `max`. */
export function allPids(max = MAX_PROC_SCAN): number[] {
  try {
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .slice(0, max)
      .map(Number);
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

/** Socket inode → owning process, for the inodes asked (one scan of every /proc/PID/fd, stopped once all are found). */
export function socketOwners(inodes: Set<bigint>): Map<bigint, { pid: number; comm: string }> {
  const owners = new Map<bigint, { pid: number; comm: string }>();
  if (!inodes.size) return owners;
  for (const pid of allPids()) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or a kernel thread
    }
    for (const fd of fds) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m) continue;
      const ino = BigInt(m[1]!);
      if (inodes.has(ino) && !owners.has(ino)) owners.set(ino, { pid, comm: readOr(`/proc/${pid}/comm`).trim() });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

/** Whether a socket's owner is one of Sherlock's own processes (in its cgroup), asked once per pid. */
export function sherlockPids(cgroupId: bigint | undefined): (pid: number) => boolean {
  const known = new Map<number, boolean>();
  return (pid) => {
    if (cgroupId === undefined || !pid) return false;
    let mine = known.get(pid);
    if (mine === undefined) known.set(pid, (mine = processCgroup2Id(pid) === cgroupId));
    return mine;
  };
}
