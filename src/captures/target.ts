// What a capture looks at (pid, comm, cgroup, systemd unit, TCP port, uid),
// resolved on this node to the in-kernel filters: tgid set, cgroup id, uid,
// comm. An unknown target fails here, before anything is loaded or attached.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { identifyCgroup, matchesContainer, type CgroupIdentity } from '../cgroups/container.js';
import { cgroup2Mount } from '../cgroups/mount.js';
import { processCgroupPath } from '../cgroups/process-cgroup.js';
import { procTcpSockets } from './proc-net-tcp.js';
import { socketOwners } from './socket-owners.js';
import { MAX_TGIDS } from '../model/limits.js';
import type { TargetSpec } from '../model/target.js';

export type { TargetSpec } from '../model/target.js';

export interface ResolvedTarget {
  tgids?: number[];
  cgroupId?: bigint;
  uid?: number;
  comm?: string;
  /** For people: "pid 1234", "comm nginx", "all processes". */
  description: string;
}

export class TargetError extends Error {
  override name = 'TargetError';
}

export function resolveTarget(spec: TargetSpec = {}): ResolvedTarget {
  const parts: string[] = [];
  const resolved: ResolvedTarget = { description: '' };
  if (spec.pid) {
    resolved.tgids = [...new Set(spec.pid.map(tgidOf))];
    parts.push(`pid ${spec.pid.join(',')}`);
  }
  if (spec.comm) {
    resolved.comm = spec.comm;
    parts.push(`comm ${spec.comm}`);
  }
  if (spec.cgroup && spec.unit) throw new TargetError('give a cgroup or a unit, not both: a unit is a cgroup');
  if (spec.cgroup) {
    resolved.cgroupId = cgroupIdOf(spec.cgroup);
    parts.push(`cgroup ${spec.cgroup}`);
  }
  if (spec.unit) {
    const name = spec.unit.includes('.') ? spec.unit : `${spec.unit}.service`;
    const path = hasCgroup2() ? unitCgroup(name) : undefined;
    // A hybrid host may keep units in the v1 name=systemd tree only: then their processes now.
    if (path) resolved.cgroupId = cgroupIdOf(path);
    else
      resolved.tgids = narrow(
        resolved.tgids,
        processesWhere((id) => id.unit === name),
        `unit ${name} has no cgroup on this host (is it running?)`,
      );
    parts.push(`unit ${spec.unit}`);
  }
  // Containers and pods: their processes now (children join on exec-following captures).
  if (spec.container) {
    const id = spec.container.toLowerCase();
    resolved.tgids = narrow(
      resolved.tgids,
      processesWhere((c) => matchesContainer(c, id)),
      `no running process is in container ${id} on this host`,
    );
    parts.push(`container ${id.slice(0, 12)}`);
  }
  if (spec.pod) {
    const uid = spec.pod.toLowerCase();
    resolved.tgids = narrow(
      resolved.tgids,
      processesWhere((c) => c.podUid === uid),
      `no running process is in pod ${uid} on this host`,
    );
    parts.push(`pod ${uid}`);
  }
  if (spec.port) {
    const listeners = listenersOn(spec.port);
    resolved.tgids = resolved.tgids ? resolved.tgids.filter((t) => listeners.includes(t)) : listeners;
    if (!resolved.tgids.length) throw new TargetError(`none of the given pids listens on TCP port ${spec.port}`);
    parts.push(`port ${spec.port}`);
  }
  if (spec.uid !== undefined) {
    resolved.uid = spec.uid;
    parts.push(`uid ${spec.uid}`);
  }
  resolved.description = parts.join(', ') || 'all processes';
  return resolved;
}

/** A thread id resolves to its process (the kernel filters by tgid). */
function tgidOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^Tgid:\s+(\d+)/m.exec(status)?.[1] ?? pid);
  } catch {
    throw new TargetError(`no process with pid ${pid} is running on this host`);
  }
}

/** The given pids narrowed to `found`, or `found` alone; empty is an error saying why. */
function narrow(given: number[] | undefined, found: number[], none: string): number[] {
  const tgids = given ? given.filter((t) => found.includes(t)) : found;
  if (!tgids.length) throw new TargetError(given ? `${none} among the given pids` : none);
  if (tgids.length > MAX_TGIDS) throw new TargetError(`${tgids.length} processes match, more than the ${MAX_TGIDS} a target may hold`);
  return tgids;
}

/** Live processes whose cgroup identity passes `test`. */
function processesWhere(test: (identity: CgroupIdentity) => boolean): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      const path = processCgroupPath(Number(pid));
      return path !== undefined && test(identifyCgroup(path));
    })
    .map(Number);
}

const hasCgroup2 = () => cgroup2Mount() !== undefined;

function cgroup2Root(): string {
  const root = cgroup2Mount();
  if (!root) throw new TargetError('cgroup targets need cgroup v2, which is not mounted on this host');
  return root;
}

/** A cgroup v2 path (absolute, or relative to the cgroup2 mount) → its id (the directory's inode). */
function cgroupIdOf(path: string): bigint {
  const root = cgroup2Root();
  const dir = isAbsolute(path) && path.startsWith(root) ? path : join(root, path);
  if (!existsSync(dir)) throw new TargetError(`cgroup ${path} does not exist (looked for ${dir})`);
  return statSync(dir, { bigint: true }).ino;
}

/** A systemd unit's cgroup: from systemctl when systemd runs, else found in the cgroup2 tree, else undefined. */
function unitCgroup(name: string): string | undefined {
  const shown = spawnSync('systemctl', ['show', '--property=ControlGroup', '--value', name], { encoding: 'utf8' });
  const path = shown.status === 0 ? shown.stdout.trim() : '';
  if (path) return path;
  return findDirectory(cgroup2Root(), name, 4);
}

function findDirectory(root: string, name: string, depth: number): string | undefined {
  if (depth < 0) return undefined;
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries) if (e.isDirectory() && e.name === name) return join(root, e.name);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = findDirectory(join(root, e.name), name, depth - 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Processes with a socket listening on a TCP port (IPv4 or IPv6) in this network namespace, and those holding
 * connections accepted on it: a server that forks a process per connection answers in those (postgres's backends).
 */
function listenersOn(port: number): number[] {
  const sockets = procTcpSockets(process.pid).filter((s) => s.local.endsWith(`:${port}`));
  const listening = new Set(sockets.filter((s) => s.state === 'LISTEN').map((s) => s.inode));
  if (!listening.size) throw new TargetError(`nothing listens on TCP port ${port} on this host`);
  const accepted = sockets.filter((s) => s.state === 'ESTABLISHED').map((s) => s.inode);
  return [...socketOwners(new Set([...listening, ...accepted])).keys()];
}
