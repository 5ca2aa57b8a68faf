// Container awareness: cgroup paths named the way docker, containerd, CRI-O,
// podman and systemd name them, parsed into container id, runtime, pod UID and
// unit; then real cgroups made under those names on this host (cgroup v1
// hierarchies here, the unified one where mounted), a process moved in, and
// targets and captured events that must name its container and pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identifyCgroup } from '../../src/cgroups/container.js';
import { processCgroupPath } from '../../src/cgroups/process-cgroup.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { resolveTarget, TargetError } from '../../src/captures/target.js';
import { captures } from '../../src/captures/registry.js';
import { removeCgroups } from '../helpers/cgroups.js';
import { kernelSkipReason } from '../helpers/kernel.js';

const id = 'a'.repeat(8) + randomBytes(28).toString('hex');
const pod = '0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b';

describe('cgroup paths as the runtimes name them', () => {
  it.each([
    ['/docker/' + id, { containerId: id, runtime: 'docker' }],
    ['/system.slice/docker-' + id + '.scope', { containerId: id, runtime: 'docker', unit: `docker-${id}.scope` }],
    ['/kubepods/burstable/pod' + pod + '/' + id, { containerId: id, runtime: 'containerd', podUid: pod }],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${pod.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`,
      { containerId: id, runtime: 'containerd', podUid: pod },
    ],
    [
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${pod.replace(/-/g, '_')}.slice/crio-${id}.scope`,
      { containerId: id, runtime: 'cri-o', podUid: pod },
    ],
    ['/kubepods/pod' + pod + '/crio-' + id, { containerId: id, runtime: 'cri-o', podUid: pod }],
    ['/machine.slice/libpod-' + id + '.scope', { containerId: id, runtime: 'podman' }],
    ['/system.slice/nginx.service', { containerId: 'host', unit: 'nginx.service' }],
    ['/user.slice/user-1000.slice/session-3.scope', { containerId: 'host', unit: 'session-3.scope' }],
    ['/', { containerId: 'host' }],
  ])('%s', (path, expected) => {
    const identity = identifyCgroup(path);
    expect(identity).toMatchObject({ cgroup: path, ...expected });
    if (!('podUid' in expected)) expect(identity.podUid).toBeUndefined();
    if (!('runtime' in expected)) expect(identity.runtime).toBeUndefined();
  });
});

const skip =
  kernelSkipReason() ?? (existsSync('/sys/fs/cgroup/memory/cgroup.procs') ? undefined : 'needs the cgroup v1 memory hierarchy at /sys/fs/cgroup/memory');

describe.skipIf(skip)(`real cgroups named like a kubelet's${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const made: string[] = [];
  const children: ChildProcess[] = [];
  const kubeRoot = `/sys/fs/cgroup/memory/kubepods-sherlock-test-${process.pid}`;
  const podDir = join(kubeRoot, 'burstable', `pod${pod}`);
  const containerDir = join(podDir, id);

  /** A shell in the container's cgroup that runs /bin/true every 50 ms (bounded: 400 times). */
  function containerized(): ChildProcess {
    if (!made.length) {
      for (const dir of [kubeRoot, join(kubeRoot, 'burstable'), podDir, containerDir]) {
        mkdirSync(dir);
        made.unshift(dir);
      }
    }
    const child = spawn('/bin/sh', ['-c', 'read go; i=0; while [ $i -lt 400 ]; do /bin/true; i=$((i+1)); sleep 0.05; done'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(child);
    writeFileSync(join(containerDir, 'cgroup.procs'), String(child.pid));
    child.stdin!.write('go\n');
    return child;
  }

  afterAll(async () => {
    expect(await removeCgroups(children, made)).toEqual([]);
  });

  it('resolves a container id prefix and a pod UID to the processes inside, and refuses unknown ones', () => {
    const child = containerized();
    expect(processCgroupPath(child.pid!)).toBe(`/kubepods-sherlock-test-${process.pid}/burstable/pod${pod}/${id}`);
    // The shell and whatever it runs right now (its sleep), all in the container's cgroup.
    const inContainer = (tgids: number[] | undefined) => {
      expect(tgids).toContain(child.pid);
      for (const t of tgids!) expect(processCgroupPath(t) ?? `${t} exited`).toMatch(new RegExp(`/${id}$|exited$`));
    };
    inContainer(resolveTarget({ container: id.slice(0, 12) }).tgids);
    inContainer(resolveTarget({ pod }).tgids);
    expect(resolveTarget({ container: id }).description).toBe(`container ${id.slice(0, 12)}`);
    expect(() => resolveTarget({ container: 'b'.repeat(64) })).toThrow(TargetError);
    expect(() => resolveTarget({ container: 'b'.repeat(64) })).toThrow(/no running process is in container/);
  });

  it('an exec capture aimed at the container sees its execs, each naming the container and the pod', async () => {
    containerized();
    const result = await runCapture(captures.get('execsnoop')!, { durationMs: 1500, target: { container: id.slice(0, 16) } });
    const events = (result as unknown as { events: { filename: string; container?: string; pod?: string; cgroup?: string }[] }).events;
    const truths = events.filter((e) => e.filename.endsWith('/true'));
    expect(truths.length).toBeGreaterThan(5);
    for (const e of truths) expect({ container: e.container, pod: e.pod }).toEqual({ container: id, pod });
    // Nothing from outside the container got in.
    expect(events.every((e) => e.container === id)).toBe(true);
  });
});

const unitSkip =
  kernelSkipReason() ?? (existsSync('/sys/fs/cgroup/systemd/cgroup.procs') ? undefined : 'needs a cgroup v1 host with the name=systemd hierarchy');

describe.skipIf(unitSkip)(`a systemd unit on a cgroup v1 host${unitSkip ? ` (skipped: ${unitSkip})` : ''}`, () => {
  it("resolves to the processes in the unit's cgroup (no cgroup v2 needed)", async () => {
    const unit = `sherlock-test-${process.pid}.service`;
    const dir = join('/sys/fs/cgroup/systemd/system.slice', unit);
    const madeSlice = !existsSync('/sys/fs/cgroup/systemd/system.slice');
    mkdirSync(dir, { recursive: true });
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
      expect(resolveTarget({ unit }).tgids).toEqual([child.pid]);
      expect(resolveTarget({ unit: unit.replace('.service', '') }).tgids).toEqual([child.pid]);
      expect(() => resolveTarget({ unit: `absent-${randomUUID()}.service` })).toThrow(/has no cgroup on this host/);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          rmdirSync(dir);
          if (madeSlice) rmdirSync('/sys/fs/cgroup/systemd/system.slice');
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
    expect(existsSync(dir)).toBe(false);
  });
});
