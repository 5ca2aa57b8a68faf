// Capture results → syscall events, as each capture's syscallEvents maps them:
// exec, open and connect/accept shapes, a summary's connect giving way to the
// complete capture's, and the container a cgroup path names.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventSpoolWriter } from '../../src/captures/event-spool.js';
import { containerIdOf } from '../../src/falco/host-info.js';
import { nodeEvents as nodeEventStream } from '../../src/falco/node-events.js';
import { run, ruleText } from './fixtures.js';

const t = '2026-01-01T00:00:01.000Z';

/** The node's events as one array (nodeEvents streams them). */
const nodeEvents = (results: readonly unknown[]) => {
  const { events, captures } = nodeEventStream(results);
  return { events: [...events], captures };
};

describe('syscall events from capture results', () => {
  it("orders one millisecond's events: a process's exec before what the program it made did, whichever capture comes first", () => {
    const open = { time: t, pid: 9, tid: 9, uid: 0, comm: 'cat', syscall: 'openat', path: '/etc/shadow', flags: 0, flagNames: 'O_RDONLY', fd: 3, retval: 3 };
    const exec = { time: t, pid: 9, tid: 9, ppid: 4, uid: 0, comm: 'cat', pcomm: 'node', filename: '/bin/cat', argv: ['cat', '/etc/shadow'], retval: 0 };
    // opensnoop's result first: before, a stable merge put its open ahead of the exec (proc.pname unknown at the open).
    const { events } = nodeEvents([
      { capture: 'opensnoop', events: [open] },
      { capture: 'execsnoop', events: [exec] },
    ]);
    expect(events.map((e) => e.type)).toEqual(['execve', 'openat']);
  });

  it('maps execs, opens, connects and accepts', () => {
    const { events, captures } = nodeEvents([
      {
        capture: 'execsnoop',
        events: [
          { time: t, pid: 5, tid: 5, ppid: 1, uid: 0, comm: 'sh', pcomm: 'nginx', filename: '/bin/sh', argv: ['sh', '-c', 'id'], retval: 0, cgroupId: '1' },
        ],
      },
      {
        capture: 'opensnoop',
        events: [
          {
            time: t,
            pid: 5,
            tid: 5,
            uid: 0,
            comm: 'cat',
            syscall: 'openat',
            path: '/etc/shadow',
            flags: 0,
            flagNames: 'O_RDONLY',
            fd: 3,
            retval: 3,
            cgroupId: '1',
          },
          {
            time: t,
            pid: 5,
            tid: 5,
            uid: 0,
            comm: 'cat',
            syscall: 'open',
            path: '/nope',
            flags: 0,
            flagNames: 'O_RDONLY',
            retval: -2,
            error: 'ENOENT',
            cgroupId: '1',
          },
        ],
      },
      {
        capture: 'tcplife',
        events: [
          {
            time: t,
            pid: 7,
            tid: 7,
            comm: 'curl',
            ownerKnown: true,
            cgroupId: '1',
            local: '10.0.0.1:40000',
            remote: '93.184.216.34:443',
            ipVersion: 4,
            direction: 'active',
            established: true,
            durationMs: 500,
          },
          {
            time: t,
            pid: 9,
            tid: 9,
            comm: 'nginx',
            ownerKnown: true,
            cgroupId: '1',
            local: '10.0.0.1:80',
            remote: '198.51.100.7:50000',
            ipVersion: 4,
            direction: 'passive',
            established: true,
            durationMs: 5,
          },
          {
            time: t,
            pid: 7,
            tid: 7,
            comm: 'curl',
            ownerKnown: true,
            cgroupId: '1',
            local: '10.0.0.1:40001',
            remote: '93.184.216.34:4444',
            ipVersion: 4,
            direction: 'active',
            established: false,
            durationMs: 1,
            error: 'ECONNREFUSED',
          },
        ],
      },
      {
        capture: 'tcpconnlat',
        startedAt: t,
        histograms: [
          { labels: { destination: '93.184.216.34:443' }, histogram: { count: 2 } },
          { labels: { destination: '8.8.8.8:53' }, histogram: { count: 1 } },
        ],
        slowest: [{ time: t, pid: 7, comm: 'curl', source: '10.0.0.1:40000', destination: '93.184.216.34:443', latencyUs: 900 }],
        failures: [],
      },
      { capture: 'profile', stacks: [] },
    ]);
    expect(captures).toEqual(['execsnoop', 'opensnoop', 'tcplife', 'tcpconnlat']);
    const exec = events.find((e) => e.type === 'execve')!;
    expect(exec).toMatchObject({
      pid: 5,
      capture: 'execsnoop',
      exec: { filename: '/bin/sh', argv: ['sh', '-c', 'id'], ppid: 1, pcomm: 'nginx' },
      args: { exe: 'sh', args: '-c id' },
    });
    expect(events.filter((e) => e.capture === 'opensnoop').map((e) => [e.type, e.res, e.fd?.kind === 'file' && e.fd.num, e.errorName])).toEqual([
      ['openat', 3, 3, undefined],
      ['open', -2, -1, 'ENOENT'],
    ]);
    const tcp = events.filter((e) => e.capture === 'tcplife');
    expect(tcp.map((e) => [e.type, e.pid, e.res, e.errorName, e.timeMs])).toEqual([
      ['connect', 7, 0, undefined, Date.parse(t) - 500],
      ['accept', 9, 0, undefined, Date.parse(t) - 5],
      ['connect', 7, -111, 'ECONNREFUSED', Date.parse(t) - 1],
    ]);
    expect(tcp[1]!.fd).toMatchObject({ kind: 'socket', role: 'server', local: { ip: '10.0.0.1', port: 80 }, remote: { ip: '198.51.100.7', port: 50000 } });
    // tcpconnlat's connect by curl to :443 and its count of it are tcplife's already; only 8.8.8.8:53 is new.
    expect(events.filter((e) => e.capture === 'tcpconnlat').map((e) => [e.pid, e.fd?.kind === 'socket' && `${e.fd.remote.ip}:${e.fd.remote.port}`])).toEqual([
      [0, '8.8.8.8:53'],
    ]);
  });

  it('reads the container id from the cgroup paths of docker, containerd, podman and kubepods; none for the host', () => {
    const id = 'a'.repeat(12) + 'b'.repeat(52);
    expect(containerIdOf(`/system.slice/docker-${id}.scope`)).toBe('aaaaaaaaaaaa');
    expect(containerIdOf(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${id}.scope`)).toBe('aaaaaaaaaaaa');
    expect(containerIdOf(`/machine.slice/libpod-${id}.scope/container`)).toBe('aaaaaaaaaaaa');
    expect(containerIdOf(`/docker/${id}`)).toBe('aaaaaaaaaaaa');
    expect(containerIdOf('/user.slice/user-0.slice/session-1.scope')).toBeUndefined();
  });
});

describe('syscallerrors events with an fd', () => {
  const failing = (over: Record<string, unknown>) => ({
    pid: 9,
    comm: 'python3',
    uid: 0,
    cgroupId: '1',
    syscall: 'write',
    nr: 1,
    errno: 'ENOSPC',
    count: 5,
    perSecond: 5,
    firstSeen: t,
    lastSeen: t,
    tid: 9,
    ...over,
  });

  it("a write that failed on a file fills fd.name and fd.num, and a Falco rule on fd.name matches it; a socket's or a closed fd's does not pretend", () => {
    const rows = [
      failing({ fd: 3, fdTarget: { kind: 'file', name: '/var/log/app/app.log' } }),
      failing({ errno: 'EPIPE', fd: 4, fdTarget: { kind: 'socket', protocol: 'tcp', name: 'TCP 10.0.0.5:6379', remote: '10.0.0.5:6379' } }),
      failing({ errno: 'EBADF', fd: 5, fdTarget: { kind: 'gone', name: 'closed before the capture ended' } }),
    ];
    const { events } = nodeEvents([{ capture: 'syscallerrors', rows }]);
    expect(events.map((e) => e.fd)).toEqual([{ kind: 'file', path: '/var/log/app/app.log', num: 3, directory: false }, undefined, undefined]);
    const { rules } = run(ruleText('evt.type = write and evt.failed = true and fd.name startswith /var/log/'), events);
    expect(rules).toEqual(['R']);
  });
});

describe('syscall events from spooled results', () => {
  it('streams each spool (never one array) and merges them in time order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-falco-spool-'));
    try {
      const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
      const execs = new EventSpoolWriter<Record<string, unknown>>({ dir, budgetBytes: Infinity }, 'execsnoop');
      const opens = new EventSpoolWriter<Record<string, unknown>>({ dir, budgetBytes: Infinity }, 'opensnoop');
      for (let i = 0; i < 3000; i++) {
        execs.append({
          time: at(i * 2),
          pid: 10 + i,
          tid: 10 + i,
          ppid: 1,
          uid: 0,
          comm: 'sh',
          pcomm: 'init',
          filename: '/bin/sh',
          argv: ['sh'],
          retval: 0,
          cgroupId: '1',
        });
        opens.append({
          time: at(i * 2 + 1),
          pid: 10 + i,
          tid: 10 + i,
          uid: 0,
          comm: 'sh',
          syscall: 'openat',
          path: `/tmp/${i}`,
          flags: 0,
          flagNames: 'O_RDONLY',
          fd: 3,
          retval: 3,
          cgroupId: '1',
        });
      }
      const { events, captures } = nodeEventStream([
        { capture: 'opensnoop', events: [], eventSpool: opens.close() },
        { capture: 'execsnoop', events: [], eventSpool: execs.close() },
      ]);
      expect(Array.isArray(events)).toBe(false);
      expect(captures).toEqual(['opensnoop', 'execsnoop']);
      const list = [...events];
      expect(list).toHaveLength(6000);
      expect(list.slice(0, 4).map((e) => e.type)).toEqual(['execve', 'openat', 'execve', 'openat']);
      expect(list.every((e, i) => i === 0 || e.timeMs >= list[i - 1]!.timeMs)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
