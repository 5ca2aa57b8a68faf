// A process's cgroup, read from /proc/PID/cgroup. On a cgroup v2 host that is
// the one unified path; on a v1 or hybrid host the v2 line is often just "/",
// so the most telling v1 hierarchy is used (systemd's, then memory, cpu,
// pids), which is where runtimes and systemd place their cgroups. An event
// names its cgroup by id (v2, and the memory controller's where the capture
// records it), so a storm of new processes is named without a read each.
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { identifyCgroup, type CgroupIdentity } from './container.js';
import { cgroup2Mount, memoryCgroupMount } from './mount.js';

const V1_PREFERENCE = ['name=systemd', 'memory', 'cpu', 'pids'];

/** A process's cgroups as /proc/PID/cgroup lists them: its v2 path (when there is a v2 line), its v1 memory path and its most telling path. */
interface ProcessCgroups {
  unified?: string;
  memory?: string;
  telling: string;
}

/**
 * Where a capture's BPF program records the memory controller's cgroup id
 * (sherlock_memcg_id) beside the v2 one, its events carry it under this key:
 * not serialized, only read by eventIdentities().
 */
export const MEMCG_ID: unique symbol = Symbol('memcgId');

function readProcessCgroups(pid: number): ProcessCgroups | undefined {
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
  const memory = byController.get('memory');
  if (unified && unified !== '/') return { unified, memory, telling: unified };
  for (const c of V1_PREFERENCE) {
    const path = byController.get(c);
    if (path && path !== '/') return { unified, memory, telling: path };
  }
  return { unified, memory, telling: unified ?? '/' };
}

/** The process's most telling cgroup path, or undefined when the process is gone. */
export function processCgroupPath(pid: number): string | undefined {
  return readProcessCgroups(pid)?.telling;
}

/** The process's cgroup v2 id (its directory's inode), or undefined (gone, or no cgroup v2). */
export function processCgroup2Id(pid: number): bigint | undefined {
  const unified = readProcessCgroups(pid)?.unified;
  const mount = unified === undefined ? undefined : cgroup2Mount();
  return mount ? cgroupDirId(mount, unified!) : undefined;
}

/** A cgroup directory's id (its inode: what bpf_get_current_cgroup_id() returns for v2), or undefined when it is gone. */
const cgroupDirId = (mount: string, path: string): bigint | undefined => statSync(join(mount, path), { bigint: true, throwIfNoEntry: false })?.ino;

/** One capture's view of live processes, cached by pid (pids are not reused that fast). */
function processCgroupsCache(): (pid: number) => { cgroups: ProcessCgroups; identity: CgroupIdentity } | undefined {
  const cache = new Map<number, { cgroups: ProcessCgroups; identity: CgroupIdentity } | undefined>();
  return (pid) => {
    if (!cache.has(pid)) {
      const cgroups = readProcessCgroups(pid);
      cache.set(pid, cgroups && { cgroups, identity: identifyCgroup(cgroups.telling) });
    }
    return cache.get(pid);
  };
}

/** cgroup ids (directory inodes) → paths, from one walk of a hierarchy's tree under `root`. */
function walkCgroups(root: string): Map<string, string> {
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

// A walk of a node's whole cgroup tree takes 20 ms to a few hundred on a busy
// Kubernetes node: inside a ring drain it is done at most this often.
const WALK_EVERY_MS = 1000;

/**
 * One hierarchy's cgroup ids → paths for one capture. An id is learned from
 * the first live process seen in it (the path its /proc/PID/cgroup shows,
 * checked against the directory's inode), so a storm of events costs no walk;
 * the tree is walked only for an id no live process shows (its processes
 * exited), at most once a second, and an id still unknown after a walk stays
 * unknown until the next.
 */
function cgroupIdPaths(root: string): (id: string, learnFrom: () => string | undefined) => string | undefined {
  const paths = new Map<string, string>();
  let walkedAt = -Infinity;
  return (id, learnFrom) => {
    const known = paths.get(id);
    if (known !== undefined) return known;
    const seen = learnFrom();
    if (seen !== undefined && String(cgroupDirId(root, seen)) === id) {
      paths.set(id, seen);
      return seen;
    }
    if (performance.now() - walkedAt < WALK_EVERY_MS) return undefined;
    walkedAt = performance.now();
    for (const [walkedId, path] of walkCgroups(root)) paths.set(walkedId, path);
    return paths.get(id);
  };
}

type ProcessCgroupsCache = ReturnType<typeof processCgroupsCache>;

/** identifyCgroup, remembered by path for one capture. */
function pathIdentities(): (path: string) => CgroupIdentity {
  const known = new Map<string, CgroupIdentity>();
  return (path) => {
    let identity = known.get(path);
    if (!identity) known.set(path, (identity = identifyCgroup(path)));
    return identity;
  };
}

/**
 * Memory cgroup ids → identities, on a host with a v1 memory hierarchy. Whether
 * a memory cgroup names the identity of every process in it is learned from the
 * first live process seen in it (the event's, else its parent's: a storm's
 * short-lived children are gone by the drain): it does when it is that
 * process's most telling cgroup, not when (say) name=systemd names a unit
 * without memory accounting: then (null) each process's own /proc/PID/cgroup is
 * read, as without it. With no live process to ask, its path is what is known.
 */
function memcgIdentities(
  byPid: ProcessCgroupsCache,
  identityOfPath: (path: string) => CgroupIdentity,
): ((memcgId: bigint, pids: number[]) => CgroupIdentity | undefined) | undefined {
  const mount = memoryCgroupMount();
  if (!mount) return undefined;
  const pathOf = cgroupIdPaths(mount);
  const telling = new Map<bigint, CgroupIdentity | null>();
  return (memcgId, pids) => {
    const learned = telling.get(memcgId);
    if (learned !== undefined) return learned ?? undefined;
    for (const pid of pids) {
      const seen = pid ? byPid(pid) : undefined;
      const memory = seen?.cgroups.memory;
      if (!memory || cgroupDirId(mount, memory) !== memcgId) continue; // gone, or moved since the event
      const identity = seen.cgroups.telling === memory ? seen.identity : null;
      telling.set(memcgId, identity);
      return identity ?? undefined;
    }
    const path = pathOf(String(memcgId), () => undefined);
    return path && path !== '/' ? identityOfPath(path) : undefined;
  };
}

/**
 * Who an event's process is, container-wise: by its cgroup v2 id when the
 * host has cgroup v2 (works after the process exited), else by its memory
 * cgroup id where the capture records it (MEMCG_ID), else from
 * /proc/PID/cgroup, else from its parent's (a short-lived child of a
 * containerized process is in the same container). Cached per capture.
 */
export function eventIdentities(): (event: { pid?: unknown; ppid?: unknown; cgroupId?: unknown; [MEMCG_ID]?: bigint }) => CgroupIdentity | undefined {
  const byPid = processCgroupsCache();
  const v2Root = cgroup2Mount();
  const v2Path = v2Root ? cgroupIdPaths(v2Root) : undefined;
  const identityOfPath = pathIdentities();
  const byMemcg = memcgIdentities(byPid, identityOfPath);
  return (event) => {
    const id = typeof event.cgroupId === 'string' || typeof event.cgroupId === 'bigint' ? String(event.cgroupId) : '';
    const pid = typeof event.pid === 'number' ? event.pid : 0;
    const ppid = typeof event.ppid === 'number' ? event.ppid : 0;
    // The v2 path names the container unless it is the root (a v1 or hybrid host: the v1 paths do).
    const path = id && v2Path ? v2Path(id, () => (pid ? byPid(pid)?.cgroups.unified : undefined)) : undefined;
    if (path && path !== '/') return identityOfPath(path);
    const memcgId = event[MEMCG_ID];
    const byMemory = memcgId && byMemcg ? byMemcg(memcgId, [pid, ppid]) : undefined;
    if (byMemory) return byMemory;
    const own = pid ? byPid(pid)?.identity : undefined;
    if (own && own.cgroup !== '/') return own;
    // "/" may be a process that is exiting (it left its cgroups before it became a zombie): its parent knows.
    const parent = ppid ? byPid(ppid)?.identity : undefined;
    return parent && parent.cgroup !== '/' ? parent : (own ?? parent);
  };
}
