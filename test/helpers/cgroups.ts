// Cleanup for tests that make cgroups and put children in them.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { memoryCgroupMount } from '../../src/cgroups/mount.js';

export { cgroup2Mount } from '../../src/cgroups/mount.js';

/** SIGKILLs a child still running and waits for its exit. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** Kills the children, then removes the cgroups (innermost first); returns those that would not go. */
export async function removeCgroups(children: ChildProcess[], innermostFirst: string[]): Promise<string[]> {
  for (const c of children) await killChild(c);
  for (const dir of innermostFirst) {
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20)); // killed tasks leave their cgroup asynchronously
      }
    }
  }
  return innermostFirst.filter((d) => existsSync(d));
}

/**
 * A new docker-like scope (docker-<id>.scope) in the cgroup v1 memory hierarchy, under a test parent:
 * its directory, its path as /proc/PID/cgroup shows it, its container id, and `remove` (undefined: no memory hierarchy).
 */
export function dockerLikeMemcg(test: string): { dir: string; path: string; containerId: string; remove(): Promise<string[]> } | undefined {
  const root = memoryCgroupMount();
  if (!root) return undefined;
  const containerId = randomBytes(32).toString('hex');
  const parent = join(root, `sherlock-test-${test}-${process.pid}`);
  const dir = join(parent, `docker-${containerId}.scope`);
  mkdirSync(dir, { recursive: true });
  return { dir, path: dir.slice(root.length), containerId, remove: () => removeCgroups([], [dir, parent]) };
}
