// A process's cgroup, read from /proc/PID/cgroup. On a cgroup v2 host that is
// the one unified path; on a v1 or hybrid host the v2 line is often just "/",
// so the most telling v1 hierarchy is used (systemd's, then memory, cpu,
// pids), which is where runtimes and systemd place their cgroups.
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { identifyCgroup, type CgroupIdentity } from './container.js';

const V1_PREFERENCE = ['name=systemd', 'memory', 'cpu', 'pids'];

/** The process's most telling cgroup path, or undefined when the process is gone. */
export function processCgroupPath(pid: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  const byController = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '') byController.set('', m[2]!);
    else for (const c of m[1]!.split(',')) byController.set(c, m[2]!);
  }
  const unified = byController.get('');
  if (unified && unified !== '/') return unified;
  for (const c of V1_PREFERENCE) {
    const path = byController.get(c);
    if (path && path !== '/') return path;
  }
  return unified ?? '/';
}

/** Identities of live processes, cached by pid for one capture's decode (pids are not reused that fast). */
export function processIdentities(): (pid: number) => CgroupIdentity | undefined {
  const cache = new Map<number, CgroupIdentity | undefined>();
  return (pid) => {
    if (!cache.has(pid)) {
      const path = processCgroupPath(pid);
      cache.set(pid, path === undefined ? undefined : identifyCgroup(path));
    }
    return cache.get(pid);
  };
}

/** cgroup v2 ids (directory inodes) → paths, from one walk of the cgroup2 tree; undefined without cgroup v2. */
function cgroup2Paths(): Map<string, string> | undefined {
  const root = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[2] === 'cgroup2')?.[1];
  if (!root) return undefined;
  const paths = new Map<string, string>();
  const walk = (dir: string, rel: string, depth: number) => {
    // A cgroup removed between its parent's listing and here (a test's, a finished unit's) is skipped, not thrown from a ring drain.
    const stat = statSync(dir, { bigint: true, throwIfNoEntry: false });
    if (!stat) return;
    paths.set(String(stat.ino), rel || '/');
    if (depth > 8) return;
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name), `${rel}/${e.name}`, depth + 1);
  };
  walk(root, '', 0);
  return paths;
}

/**
 * Who an event's process is, container-wise: by its cgroup v2 id when the
 * host has cgroup v2 (works after the process exited), else from
 * /proc/PID/cgroup, else from its parent's (a short-lived child of a
 * containerized process is in the same container). Cached per capture.
 */
export function eventIdentities(): (event: { pid?: unknown; ppid?: unknown; cgroupId?: unknown }) => CgroupIdentity | undefined {
  const byPid = processIdentities();
  let byId: Map<string, string> | undefined | null = null;
  const fromId = (id: string) => {
    if (byId === null) byId = cgroup2Paths();
    if (!byId) return undefined;
    if (!byId.has(id)) byId = cgroup2Paths(); // a cgroup created since the last walk
    const path = byId?.get(id);
    return path && path !== '/' ? identifyCgroup(path) : undefined;
  };
  return (event) => {
    const id = typeof event.cgroupId === 'string' || typeof event.cgroupId === 'bigint' ? String(event.cgroupId) : '';
    const viaId = id ? fromId(id) : undefined;
    if (viaId) return viaId;
    const pid = typeof event.pid === 'number' ? event.pid : 0;
    const ppid = typeof event.ppid === 'number' ? event.ppid : 0;
    const own = pid ? byPid(pid) : undefined;
    if (own && own.cgroup !== '/') return own;
    // "/" may be a process that is exiting (it left its cgroups before it became a zombie): its parent knows.
    const parent = ppid ? byPid(ppid) : undefined;
    return parent && parent.cgroup !== '/' ? parent : (own ?? parent);
  };
}
