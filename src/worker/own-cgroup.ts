// Sherlock's own cgroup: `sherlock up` and `sherlock worker` move themselves
// into a cgroup v2 leaf of their own before they start anything, so their
// API, worker, embedded Redis and every process they start (children inherit
// the cgroup) can be left out of host-wide captures in the kernel
// (exclude_cgroup_id, bpf/common/sherlock.bpf.h), and what they cost in a
// window can be read from its cpu.stat.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Mount } from '../cgroups/mount.js';

export interface OwnCgroup {
  /** The cgroup's path under the cgroup2 mount, "/sherlock-1234". */
  path: string;
  /** Its id (the directory's inode), what bpf_get_current_cgroup_id() returns. */
  id: bigint;
  /** CPU time used by everything in it so far, in microseconds (cpu.stat usage_usec). */
  cpuUsageUs(): number;
  /** Moves this process back where it was and removes the cgroup (best effort). */
  leave(): void;
}

/** This process's cgroup v2 path ("0::/a/b" in /proc/self/cgroup). */
function currentPath(): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  return line?.slice(3);
}

/**
 * Moves this process into <its cgroup>/sherlock-<pid>. Returns undefined,
 * with why in `reason`, where it cannot (no cgroup v2, not root, a delegated
 * tree that refuses): Sherlock then runs where it is and is not left out.
 */
export function enterOwnCgroup(onSkip?: (reason: string) => void): OwnCgroup | undefined {
  let created: string | undefined;
  try {
    const mount = cgroup2Mount();
    const from = currentPath();
    if (!mount || from === undefined) throw new Error('cgroup v2 is not mounted');
    const parentDir = join(mount, from);
    removeStaleSiblings(parentDir);
    const dir = join(parentDir, `sherlock-${process.pid}`);
    if (!existsSync(dir)) mkdirSync(dir);
    created = dir;
    writeFileSync(join(dir, 'cgroup.procs'), `${process.pid}\n`);
    const path = join(from, `sherlock-${process.pid}`);
    const id = statSync(dir, { bigint: true }).ino;
    return {
      path,
      id,
      cpuUsageUs: () => usageUs(dir),
      leave() {
        try {
          writeFileSync(join(parentDir, 'cgroup.procs'), `${process.pid}\n`);
          rmdirSync(dir);
        } catch {
          // a child still inside, or the tree is gone: nothing to undo that matters
        }
      },
    };
  } catch (err) {
    if (created) {
      try {
        rmdirSync(created);
      } catch {
        // not empty: leave it
      }
    }
    onSkip?.(`Sherlock's own processes are not left out of captures: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Removes the empty sherlock-<pid> cgroups of Sherlock processes that are gone:
 * one killed (SIGKILL, OOM) never ran leave(), and a host restarting its
 * worker for months would gather thousands (each one a directory every
 * cgroup walk reads). A cgroup that still holds a process is left alone.
 */
function removeStaleSiblings(parentDir: string): void {
  let names: string[];
  try {
    names = readdirSync(parentDir).filter((n) => /^sherlock-\d+$/.test(n));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice('sherlock-'.length));
    if (pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    try {
      rmdirSync(join(parentDir, name)); // refused (EBUSY) while a process is inside
    } catch {
      // still in use: a child that outlived its Sherlock
    }
  }
}

function usageUs(dir: string): number {
  try {
    const m = /^usage_usec (\d+)$/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
