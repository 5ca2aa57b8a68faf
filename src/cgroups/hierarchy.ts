// A cgroup controller's hierarchies (v1 mounts carrying it, v2 when its root
// offers it), and what every cgroup reader shares: the walk of a hierarchy,
// a process's directory in it, the processes in a directory. Missing files
// read as undefined or empty, never throw.
import { existsSync, readdirSync } from 'node:fs';
import { parseMountInfo } from '../util/mountinfo.js';
import { readText } from '../util/read-text.js';
import { dirname, join } from 'node:path';

export interface CgroupHierarchy {
  version: 1 | 2;
  /** Where it is mounted: /sys/fs/cgroup/cpu (v1), /sys/fs/cgroup or /sys/fs/cgroup/unified (v2). */
  mount: string;
}

/** A controller by its name in each version ("cpu" and "cpu"; "blkio" and "io"). */
export interface Controller {
  v1: string;
  v2: string;
}

/** The hierarchies the controller is on here: v1 mounts of it, and v2 if its root offers it. */
export function controllerHierarchies(controller: Controller, mountinfo = readText('/proc/self/mountinfo') ?? ''): CgroupHierarchy[] {
  const found: CgroupHierarchy[] = [];
  for (const { mountPoint: mount, fstype, superOptions } of parseMountInfo(mountinfo)) {
    if (fstype === 'cgroup' && superOptions.split(',').includes(controller.v1)) found.push({ version: 1, mount });
    if (fstype === 'cgroup2') {
      const controllers = readText(join(mount, 'cgroup.controllers')) ?? '';
      if (controllers.split(/\s+/).includes(controller.v2)) found.push({ version: 2, mount });
    }
  }
  return found;
}

/** How long a reading of the mounts stands: mountinfo is long on a container host (a line per mount) and they rarely move. */
const MOUNTS_TTL_MS = 1000;
const recent = new Map<string, { at: number; found: CgroupHierarchy[] }>();

/** controllerHierarchies() as read within the last second. */
export function currentHierarchies(controller: Controller, now = performance.now()): CgroupHierarchy[] {
  const key = `${controller.v1}/${controller.v2}`;
  let entry = recent.get(key);
  if (!entry || now - entry.at > MOUNTS_TTL_MS) recent.set(key, (entry = { at: now, found: controllerHierarchies(controller) }));
  return entry.found;
}

/** "key value" lines (cpu.stat, memory.stat) as numbers; lines whose value is not a number are left out. */
export function keyedNumbers(text: string | undefined): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) values.set(k, Number(v));
  }
  return values;
}

/** Every cgroup directory under the hierarchy's root, root included, breadth first, at most `max`. */
export function walkCgroups(h: CgroupHierarchy, max: number): { dirs: string[]; truncated: boolean } {
  const dirs: string[] = [];
  const queue = [h.mount];
  while (queue.length) {
    const dir = queue.shift()!;
    if (dirs.length >= max) return { dirs, truncated: true };
    dirs.push(dir);
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(dir, e.name));
    } catch {
      // removed while walking
    }
    queue.push(...entries);
  }
  return { dirs, truncated: false };
}

/** The path of `pid`'s cgroup in the hierarchy of `controller` (from /proc/PID/cgroup), or undefined. */
export function cgroupDirOf(h: CgroupHierarchy, controller: Controller, pid: number): string | undefined {
  const text = readText(`/proc/${pid}/cgroup`);
  if (!text) return undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, controllers, path] = m;
    const matches = h.version === 2 ? id === '0' && controllers === '' : controllers!.split(',').includes(controller.v1);
    if (matches) {
      const dir = join(h.mount, path!);
      return existsSync(dir) ? dir : undefined;
    }
  }
  return undefined;
}

/** Processes (tgids) in the cgroup itself, at most `max`. */
export function processesIn(dir: string, max: number): number[] {
  const text = readText(join(dir, 'cgroup.procs')) ?? '';
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    if (pids.length >= max) break;
    const pid = Number(line);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

/** Processes in the cgroup and every cgroup under it: the first `max`, and how many in all. */
export function processesUnder(h: CgroupHierarchy, dir: string, max: number): { pids: number[]; count: number } {
  const pids = new Set<number>();
  for (const d of walkCgroups({ ...h, mount: dir }, 1024).dirs) for (const pid of processesIn(d, 100_000)) pids.add(pid);
  return { pids: [...pids].slice(0, max), count: pids.size };
}

export function commOf(pid: number): string {
  return (readText(`/proc/${pid}/comm`) ?? '?').trim();
}

/**
 * The cgroups of these processes and their ancestors up to each root (a limit
 * on a parent holds its children too), each with its hierarchy, at most `max`.
 */
export function cgroupsOf(
  pids: Iterable<number>,
  hierarchies: CgroupHierarchy[],
  controller: Controller,
  max: number,
): { cgroups: Map<string, CgroupHierarchy>; truncated: boolean } {
  const cgroups = new Map<string, CgroupHierarchy>();
  let truncated = false;
  for (const pid of pids) {
    for (const h of hierarchies) {
      for (let dir = cgroupDirOf(h, controller, pid); dir && dir.startsWith(h.mount); dir = dir === h.mount ? undefined : dirname(dir)) {
        if (cgroups.size >= max) truncated = true;
        else cgroups.set(dir, h);
      }
    }
  }
  return { cgroups, truncated };
}
