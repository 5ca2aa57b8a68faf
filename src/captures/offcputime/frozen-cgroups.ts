// The cgroup that froze a process whose threads sleep in the freezer: v1's
// freezer hierarchy (the cgroup whose freezer.self_freezing is 1, its own or an
// ancestor) or v2's (cgroup.freeze 1 on its cgroup or an ancestor). A frozen
// service answers nothing and uses no CPU: docker pause, a CRIU checkpoint,
// systemctl freeze, a stuck orchestrator. Read after the window.
import { join } from 'node:path';
import { cgroup2Mount, mountTable } from '../../cgroups/mount.js';
import { readText } from '../../util/read-text.js';

export interface FrozenCgroup {
  /** Its path in its hierarchy. */
  cgroup: string;
  hierarchy: 'v1' | 'v2';
  /** The file that froze it, and its value: "freezer.state FROZEN", "cgroup.freeze 1". */
  setting: string;
}

const freezerMount = () => mountTable().find((f) => f[2] === 'cgroup' && (f[3] ?? '').split(',').includes('freezer'))?.[1];

/** Its v1 freezer path and its v2 path, from /proc/PID/cgroup. */
function pathsOf(pid: number): { freezer?: string; unified?: string } {
  const paths: { freezer?: string; unified?: string } = {};
  for (const line of (readText(`/proc/${pid}/cgroup`) ?? '').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '') paths.unified = m[2]!;
    else if (m[1]!.split(',').includes('freezer')) paths.freezer = m[2]!;
  }
  return paths;
}

/** "/a/b" → ["/a/b", "/a"]: the cgroup and its ancestors, nearest first (the root is never frozen). */
function upwards(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, parts.length - i).join('/')}`);
}

export function frozenCgroupOf(pid: number): FrozenCgroup | undefined {
  const { freezer, unified } = pathsOf(pid);
  const v1 = freezerMount();
  for (const dir of v1 && freezer ? upwards(freezer) : []) {
    if (readText(join(v1!, dir, 'freezer.self_freezing'))?.trim() === '1')
      return { cgroup: dir, hierarchy: 'v1', setting: `freezer.state ${readText(join(v1!, dir, 'freezer.state'))?.trim() || 'FROZEN'}` };
  }
  const v2 = cgroup2Mount();
  for (const dir of v2 && unified ? upwards(unified) : []) {
    if (readText(join(v2!, dir, 'cgroup.freeze'))?.trim() === '1') return { cgroup: dir, hierarchy: 'v2', setting: 'cgroup.freeze 1' };
  }
  return undefined;
}
