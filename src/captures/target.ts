// What a capture looks at, resolved on this node to the in-kernel filters
// (tgid set, cgroup id, uid, comm). An unknown target fails here, before
// anything is loaded or attached.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { MAX_TGIDS } from './contract.js';

const TASK_COMM_MAX = 15; // TASK_COMM_LEN 16, NUL included

export const targetSchema = z
  .object({
    pid: z.array(z.number().int().positive()).min(1).max(MAX_TGIDS).optional(),
    comm: z.string().min(1).max(TASK_COMM_MAX, `comm is at most ${TASK_COMM_MAX} characters (the kernel's TASK_COMM_LEN)`).optional(),
    cgroup: z.string().min(1).optional(),
    uid: z.number().int().min(0).max(0xfffffffe).optional(),
  })
  .strict();

export type TargetSpec = z.infer<typeof targetSchema>;

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
  if (spec.cgroup) {
    resolved.cgroupId = cgroupIdOf(spec.cgroup);
    parts.push(`cgroup ${spec.cgroup}`);
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

function cgroup2Root(): string {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
  const line = mounts.find((l) => l.split(' ')[2] === 'cgroup2');
  if (!line) throw new TargetError('cgroup targets need cgroup v2, which is not mounted on this host');
  return line.split(' ')[1] as string;
}

/** A cgroup v2 path (absolute, or relative to the cgroup2 mount) → its id (the directory's inode). */
function cgroupIdOf(path: string): bigint {
  const root = cgroup2Root();
  const dir = isAbsolute(path) && path.startsWith(root) ? path : join(root, path);
  if (!existsSync(dir)) throw new TargetError(`cgroup ${path} does not exist (looked for ${dir})`);
  return statSync(dir, { bigint: true }).ino;
}
