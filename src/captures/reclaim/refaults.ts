// File pages a memory cgroup, or the whole host, read back in after evicting them (the kernel's
// workingset refaults): memory smaller than its working set thrashes, each read that misses
// evicting a page it soon needs again. A cgroup's are counted where its limit is, for it and
// everything under it (v1's total_workingset_refault_file; v2's memory.stat counts the subtree),
// at the window's start for every cgroup with a limit and again at its end for those whose
// processes stalled; the host's in /proc/vmstat, for stalls with the host short of free memory.
import { readdir, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMemoryLimit, memoryLimitFile, type CgroupHierarchy } from '../cgroup-dirs.js';

/** Limited cgroups read at the start, at most: a container host has hundreds. */
const MAX_CGROUPS = 4096;

/** The subtree's refaulted file pages in a memory.stat's text (kernels before 5.9 count file and anonymous pages together). */
export function refaultedPages(stat: string, version: 1 | 2): number | undefined {
  const prefix = version === 1 ? 'total_' : '';
  const values = new Map(stat.split('\n').map((line) => line.split(' ') as [string, string]));
  const value = values.get(`${prefix}workingset_refault_file`) ?? values.get(`${prefix}workingset_refault`);
  return value === undefined ? undefined : Number(value);
}

/** The refault count at `path` ("/x/y"), now; undefined when the cgroup or the counter is gone. */
export function refaultsAt(h: CgroupHierarchy, path: string): number | undefined {
  try {
    return refaultedPages(readFileSync(join(h.root, path, 'memory.stat'), 'utf8'), h.version);
  } catch {
    return undefined;
  }
}

/**
 * path → refault count, for every cgroup below the root with a limit of its own: read without
 * blocking (one file at a time, awaited), while the window runs.
 */
export async function limitedCgroupRefaults(h: CgroupHierarchy): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const queue = [''];
  for (let seen = 0; queue.length && seen < MAX_CGROUPS * 4 && found.size < MAX_CGROUPS; seen++) {
    const rel = queue.shift()!;
    const dir = join(h.root, rel);
    try {
      if (rel && isMemoryLimit((await readFile(join(dir, memoryLimitFile(h)), 'utf8')).trim())) {
        const pages = refaultedPages(await readFile(join(dir, 'memory.stat'), 'utf8'), h.version);
        if (pages !== undefined) found.set(`/${rel}`, pages);
      }
      for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) queue.push(rel ? `${rel}/${e.name}` : e.name);
    } catch {
      // removed while we walked
    }
  }
  return found;
}

/** The host's refault count (/proc/vmstat, same names), now. */
export function hostRefaults(): number | undefined {
  try {
    return refaultedPages(readFileSync('/proc/vmstat', 'utf8'), 2);
  } catch {
    return undefined;
  }
}
