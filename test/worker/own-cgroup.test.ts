// Sherlock's own cgroup: entering it removes the empty ones left by Sherlock
// processes that were killed before they could leave, and keeps any that still
// holds a process; leaving puts this process back and removes its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { enterOwnCgroup } from '../../src/worker/own-cgroup.js';
import { cgroup2Mount, removeCgroups } from '../helpers/cgroups.js';

const v2Root = cgroup2Mount();
const v2Path = () =>
  readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'))
    ?.slice(3);
const skip = process.getuid?.() !== 0 ? 'needs root (makes cgroups)' : !v2Root ? 'needs cgroup v2 mounted (a v2 or hybrid host)' : undefined;

describe.skipIf(skip)(`Sherlock's own cgroup${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const children: ChildProcess[] = [];
  const made: string[] = [];

  afterAll(async () => {
    expect(await removeCgroups(children, made)).toEqual([]);
  });

  it('removes the empty cgroups of Sherlock processes that are gone, keeps one still in use, and leaves no cgroup of its own', () => {
    const parent = join(v2Root!, v2Path()!);
    const exited = spawnSync('true').pid!; // a pid that no longer runs
    const stale = join(parent, `sherlock-${exited}`);
    mkdirSync(stale);
    made.push(stale);
    // A child that outlived its Sherlock: its pid is gone from the name, the cgroup still holds it.
    const orphan = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(orphan);
    const inUse = join(parent, `sherlock-${spawnSync('true').pid!}`);
    mkdirSync(inUse);
    made.push(inUse);
    writeFileSync(join(inUse, 'cgroup.procs'), String(orphan.pid));
    const before = v2Path();

    const own = enterOwnCgroup((why) => expect.fail(why));
    try {
      expect(own!.path).toBe(join(before!, `sherlock-${process.pid}`));
      expect(v2Path()).toBe(own!.path);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(inUse)).toBe(true);
    } finally {
      own?.leave();
    }
    expect(v2Path()).toBe(before);
    expect(existsSync(join(v2Root!, own!.path))).toBe(false);
  });
});
