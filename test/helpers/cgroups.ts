// Cleanup for tests that make cgroups and put children in them.
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmdirSync } from 'node:fs';

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
