// An event's container from its cgroup v2 id: learned from a live process's
// /proc/PID/cgroup (checked against the directory's inode, so a process that
// moved since its event teaches nothing wrong), or from a walk of the cgroup
// tree when the process is gone. On a v1 or hybrid host, the same from the
// memory cgroup id a capture records (MEMCG_ID). Real cgroups, named like
// docker's scopes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventIdentities, MEMCG_ID } from '../../src/cgroups/process-cgroup.js';
import { memoryCgroupMount } from '../../src/cgroups/mount.js';
import { cgroup2Mount, killChild, removeCgroups } from '../helpers/cgroups.js';

const v2Root = cgroup2Mount();
const skip = process.getuid?.() !== 0 ? 'needs root (makes cgroups)' : !v2Root ? 'needs cgroup v2 mounted (a v2 or hybrid host)' : undefined;

describe.skipIf(skip)(`event identities by cgroup v2 id${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const parent = join(v2Root ?? '/', `sherlock-test-identities-${process.pid}`);
  const made: string[] = [];
  const children: ChildProcess[] = [];

  /** A sleeping child in a new docker-like scope: its pid, the scope's v2 id and container id. */
  function inScope(): { child: ChildProcess; cgroupId: string; containerId: string; path: string } {
    if (!made.length) {
      mkdirSync(parent);
      made.unshift(parent);
    }
    const containerId = randomBytes(32).toString('hex');
    const dir = join(parent, `docker-${containerId}.scope`);
    mkdirSync(dir);
    made.unshift(dir);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
    return { child, cgroupId: String(statSync(dir, { bigint: true }).ino), containerId, path: dir.slice(v2Root!.length) };
  }

  afterAll(async () => {
    expect(await removeCgroups(children, made)).toEqual([]);
  });

  it("names a live process's container from its id, also for a cgroup made after the first lookup", () => {
    const identityOf = eventIdentities();
    const a = inScope();
    expect(identityOf({ pid: a.child.pid, cgroupId: a.cgroupId })).toMatchObject({ cgroup: a.path, containerId: a.containerId, runtime: 'docker' });
    const b = inScope();
    expect(identityOf({ pid: b.child.pid, cgroupId: b.cgroupId })).toMatchObject({ cgroup: b.path, containerId: b.containerId });
    // Other processes' events in a known cgroup need no process at all.
    expect(identityOf({ pid: 0, cgroupId: a.cgroupId })).toMatchObject({ containerId: a.containerId });
  });

  it('learns nothing from a process that is no longer in the cgroup its event names', () => {
    const identityOf = eventIdentities();
    const a = inScope();
    const b = inScope();
    // The event says a's cgroup, the pid is b's now (it moved): a's id must not become b's path.
    expect(identityOf({ pid: b.child.pid, cgroupId: a.cgroupId })).toMatchObject({ containerId: a.containerId });
    expect(identityOf({ pid: 0, cgroupId: a.cgroupId })).toMatchObject({ containerId: a.containerId });
  });

  it("finds an exited process's container by walking the tree", async () => {
    const identityOf = eventIdentities();
    const gone = inScope();
    const pid = gone.child.pid!;
    await killChild(gone.child);
    expect(identityOf({ pid, cgroupId: gone.cgroupId })).toMatchObject({ cgroup: gone.path, containerId: gone.containerId });
  });
});

const memoryRoot = memoryCgroupMount();
const systemdRoot = '/sys/fs/cgroup/systemd';
const memcgSkip =
  process.getuid?.() !== 0 ? 'needs root (makes cgroups)' : !memoryRoot ? 'needs the cgroup v1 memory controller mounted (a v1 or hybrid host)' : undefined;

describe.skipIf(memcgSkip)(`event identities by memory cgroup id${memcgSkip ? ` (skipped: ${memcgSkip})` : ''}`, () => {
  const made: string[] = [];
  const children: ChildProcess[] = [];
  // On a hybrid host the processes' v2 cgroup is the root: its id names nothing.
  const v2RootId = v2Root ? String(statSync(v2Root, { bigint: true }).ino) : '';

  /** A new cgroup directory under `root` (its test parent made first, removed last). */
  function cgroupDir(root: string, name: string): string {
    const parent = join(root, `sherlock-test-memcg-${process.pid}`);
    if (!made.includes(parent)) {
      mkdirSync(parent);
      made.push(parent);
    }
    const dir = join(parent, name);
    mkdirSync(dir);
    made.unshift(dir);
    return dir;
  }

  /** A sleeping child in a new docker-like memory cgroup: its pid, the cgroup's memory id and container id. */
  function inMemcg(): { child: ChildProcess; memcgId: bigint; containerId: string; path: string } {
    const containerId = randomBytes(32).toString('hex');
    const dir = cgroupDir(memoryRoot!, `docker-${containerId}.scope`);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
    return { child, memcgId: statSync(dir, { bigint: true }).ino, containerId, path: dir.slice(memoryRoot!.length) };
  }

  afterAll(async () => {
    expect(await removeCgroups(children, made)).toEqual([]);
  });

  it("names the container from a live process's memory cgroup once, then for its gone children with no /proc read", () => {
    const identityOf = eventIdentities();
    const a = inMemcg();
    expect(identityOf({ pid: a.child.pid, cgroupId: v2RootId, [MEMCG_ID]: a.memcgId })).toMatchObject({
      cgroup: a.path,
      containerId: a.containerId,
      runtime: 'docker',
    });
    // A short-lived child's exec, drained after it and its parent exited: the memory cgroup says it all.
    expect(identityOf({ pid: 0, ppid: 0, cgroupId: v2RootId, [MEMCG_ID]: a.memcgId })).toMatchObject({ containerId: a.containerId });
  });

  it('learns from the parent when the process is gone, and finds a cgroup nobody is left in by walking it', async () => {
    const identityOf = eventIdentities();
    const a = inMemcg();
    expect(identityOf({ pid: 0, ppid: a.child.pid, cgroupId: v2RootId, [MEMCG_ID]: a.memcgId })).toMatchObject({ containerId: a.containerId });
    const gone = inMemcg();
    const pid = gone.child.pid!;
    await killChild(gone.child);
    expect(identityOf({ pid, ppid: 0, cgroupId: v2RootId, [MEMCG_ID]: gone.memcgId })).toMatchObject({ cgroup: gone.path, containerId: gone.containerId });
  });

  it.skipIf(!existsSync(join(systemdRoot, 'cgroup.procs')))('reads each process when another hierarchy names it better than its memory cgroup', () => {
    const identityOf = eventIdentities();
    const a = inMemcg();
    // name=systemd places it in a unit: that is its most telling cgroup, so the memory cgroup names nobody.
    const unit = cgroupDir(systemdRoot, 'sherlock-probe.service');
    writeFileSync(join(unit, 'cgroup.procs'), String(a.child.pid));
    expect(identityOf({ pid: a.child.pid, cgroupId: v2RootId, [MEMCG_ID]: a.memcgId })).toMatchObject({
      cgroup: unit.slice(systemdRoot.length),
      unit: 'sherlock-probe.service',
    });
    expect(identityOf({ pid: 0, ppid: 0, cgroupId: v2RootId, [MEMCG_ID]: a.memcgId })).toBeUndefined();
  });
});
