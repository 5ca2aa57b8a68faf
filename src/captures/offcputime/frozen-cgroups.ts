// The cgroup that froze a process whose threads sleep in the freezer: v1's
// freezer hierarchy (the cgroup whose freezer.self_freezing is 1, its own or an
// ancestor) or v2's (cgroup.freeze 1 on its cgroup or an ancestor). A frozen
// service answers nothing and uses no CPU: docker pause, a CRIU checkpoint,
// systemctl freeze, a stuck orchestrator. Read after the window.
import { dirname, join, relative } from 'node:path';
import { cgroupDirOf, currentHierarchies, type CgroupHierarchy, type Controller } from '../../cgroups/hierarchy.js';
import { cgroup2Mount } from '../../cgroups/mount.js';
import { readText } from '../../util/read-text.js';

export interface FrozenCgroup {
  /** Its path in its hierarchy. */
  cgroup: string;
  hierarchy: 'v1' | 'v2';
  /** The file that froze it, and its value: "freezer.state FROZEN", "cgroup.freeze 1". */
  setting: string;
}

/** v1's freezer controller; v2 freezes through cgroup.freeze in every cgroup, no controller to enable. */
const FREEZER: Controller = { v1: 'freezer', v2: 'freezer' };

/** Where a cgroup of this hierarchy is frozen: the setting that froze it, when it is the one frozen (not only a descendant of one). */
function frozenBy(h: CgroupHierarchy, dir: string): string | undefined {
  if (h.version === 1)
    return readText(join(dir, 'freezer.self_freezing'))?.trim() === '1'
      ? `freezer.state ${readText(join(dir, 'freezer.state'))?.trim() || 'FROZEN'}`
      : undefined;
  return readText(join(dir, 'cgroup.freeze'))?.trim() === '1' ? 'cgroup.freeze 1' : undefined;
}

export function frozenCgroupOf(pid: number): FrozenCgroup | undefined {
  const v2 = cgroup2Mount();
  const hierarchies: CgroupHierarchy[] = [...currentHierarchies(FREEZER).filter((h) => h.version === 1), ...(v2 ? [{ version: 2 as const, mount: v2 }] : [])];
  for (const h of hierarchies) {
    // Its own cgroup, then each ancestor below the root (a root is never frozen).
    for (let dir = cgroupDirOf(h, FREEZER, pid); dir && dir !== h.mount && dir.startsWith(h.mount); dir = dirname(dir)) {
      const setting = frozenBy(h, dir);
      if (setting) return { cgroup: `/${relative(h.mount, dir)}`, hierarchy: h.version === 1 ? 'v1' : 'v2', setting };
    }
  }
  return undefined;
}
