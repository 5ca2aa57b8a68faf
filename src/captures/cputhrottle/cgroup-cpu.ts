// Reads CPU bandwidth control from cgroup files, both versions: where the cpu
// controller is mounted (/proc/self/mountinfo), a cgroup's quota and period
// (v1 cpu.cfs_quota_us + cpu.cfs_period_us, v2 cpu.max) and its throttling
// counters (cpu.stat: nr_periods, nr_throttled, throttled_time ns in v1,
// throttled_usec in v2). Missing files read as undefined, never throw.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CpuHierarchy {
  version: 1 | 2;
  /** Where it is mounted: /sys/fs/cgroup/cpu (v1), /sys/fs/cgroup or /sys/fs/cgroup/unified (v2). */
  mount: string;
}

export interface CpuStat {
  periods: number;
  throttledPeriods: number;
  throttledUs: number;
  /** CPU time used (v2 cpu.stat usage_usec, v1 cpuacct.usage when beside it). */
  usageUs?: number;
}

export interface CpuLimit {
  /** undefined: no quota ("max" / -1). */
  quotaUs?: number;
  periodUs: number;
}

/** The hierarchies the cpu controller is on here: v1 "cpu" mounts, and v2 if it has the cpu controller. */
export function cpuHierarchies(mountinfo = readText('/proc/self/mountinfo') ?? ''): CpuHierarchy[] {
  const found: CpuHierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const mount = pre.split(' ')[4];
    const [fstype, , superOptions = ''] = post.split(' ');
    if (!mount) continue;
    if (fstype === 'cgroup' && superOptions.split(',').includes('cpu')) found.push({ version: 1, mount: unescapeMount(mount) });
    if (fstype === 'cgroup2') {
      const controllers = readText(join(unescapeMount(mount), 'cgroup.controllers')) ?? '';
      if (controllers.split(/\s+/).includes('cpu')) found.push({ version: 2, mount: unescapeMount(mount) });
    }
  }
  return found;
}

/** How long a reading of the mounts stands: mountinfo is long on a container host (a line per mount) and they rarely move. */
const MOUNTS_TTL_MS = 1000;
let recentHierarchies: { at: number; found: CpuHierarchy[] } | undefined;

/** cpuHierarchies() as read within the last second. */
export function currentCpuHierarchies(now = performance.now()): CpuHierarchy[] {
  if (!recentHierarchies || now - recentHierarchies.at > MOUNTS_TTL_MS) recentHierarchies = { at: now, found: cpuHierarchies() };
  return recentHierarchies.found;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function keyed(text: string | undefined): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) values.set(k, Number(v));
  }
  return values;
}

/**
 * cpu.stat of the cgroup at `dir`, or undefined when it has none (no cpu controller there).
 * `usage: false`: without v1's CPU time (cpuacct.usage, a file more), for a walk that only chooses.
 */
export function readCpuStat(h: CpuHierarchy, dir: string, { usage = true } = {}): CpuStat | undefined {
  const text = readText(join(dir, 'cpu.stat'));
  if (text === undefined) return undefined;
  const s = keyed(text);
  if (h.version === 2) {
    return {
      periods: s.get('nr_periods') ?? 0,
      throttledPeriods: s.get('nr_throttled') ?? 0,
      throttledUs: s.get('throttled_usec') ?? 0,
      ...(s.has('usage_usec') ? { usageUs: s.get('usage_usec')! } : {}),
    };
  }
  const usageNs = usage ? Number((readText(join(dir, 'cpuacct.usage')) ?? '').trim()) : Number.NaN;
  return {
    periods: s.get('nr_periods') ?? 0,
    throttledPeriods: s.get('nr_throttled') ?? 0,
    throttledUs: Math.round((s.get('throttled_time') ?? 0) / 1000),
    ...(Number.isFinite(usageNs) && usageNs > 0 ? { usageUs: Math.round(usageNs / 1000) } : {}),
  };
}

/** The quota and period at `dir`, or undefined when the files are missing. */
export function readCpuLimit(h: CpuHierarchy, dir: string): CpuLimit | undefined {
  if (h.version === 2) {
    const text = readText(join(dir, 'cpu.max'));
    if (text === undefined) return undefined;
    const [quota, period] = text.trim().split(/\s+/);
    const periodUs = Number(period);
    if (!Number.isFinite(periodUs) || periodUs <= 0) return undefined;
    return quota === 'max' || quota === undefined ? { periodUs } : { quotaUs: Number(quota), periodUs };
  }
  const quota = Number((readText(join(dir, 'cpu.cfs_quota_us')) ?? '').trim());
  const periodUs = Number((readText(join(dir, 'cpu.cfs_period_us')) ?? '').trim());
  if (!Number.isFinite(periodUs) || periodUs <= 0 || !Number.isFinite(quota)) return undefined;
  return quota < 0 ? { periodUs } : { quotaUs: quota, periodUs };
}

/** Whether the cgroup at `dir` has a CPU quota of its own: one file, where readCpuLimit reads two on v1. */
export function hasCpuQuota(h: CpuHierarchy, dir: string): boolean {
  if (h.version === 2) {
    const quota = readText(join(dir, 'cpu.max'))?.trim().split(/\s+/)[0];
    return quota !== undefined && quota !== '' && quota !== 'max';
  }
  const quota = Number((readText(join(dir, 'cpu.cfs_quota_us')) ?? '').trim());
  return Number.isFinite(quota) && quota >= 0;
}

/** Every cgroup directory under the hierarchy's root, root included, breadth first, at most `max`. */
export function walkCgroups(h: CpuHierarchy, max: number): { dirs: string[]; truncated: boolean } {
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

/** The path of `pid`'s cgroup in the hierarchy (from /proc/PID/cgroup), or undefined. */
export function cgroupDirOf(h: CpuHierarchy, pid: number): string | undefined {
  const text = readText(`/proc/${pid}/cgroup`);
  if (!text) return undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, controllers, path] = m;
    const matches = h.version === 2 ? id === '0' && controllers === '' : controllers!.split(',').includes('cpu');
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

export function commOf(pid: number): string {
  return (readText(`/proc/${pid}/comm`) ?? '?').trim();
}
