// syscallerrors names what a failing call's fd pointed to, on the real
// kernel: writes to a file on a full tmpfs (mounted by the test) name the file
// and its filesystem; writes to a TCP connection whose peer closed (EPIPE)
// name the peer; EAGAIN reads on a non-blocking socket keep no fd (a busy
// server's connections would each be a row); a server out of descriptors
// (EMFILE on accept) names its listener and what it holds; a client out of
// local ports (EADDRNOTAVAIL) its TIME_WAIT connections; a client refused by
// a local server's unix socket names the socket, and (EAGAIN) its listener
// with its accept queue. A full filesystem
// names the deleted files still open on it, and a path that found no inode
// its filesystem. And the titles, from rows.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { syscallerrors, type SyscallerrorsData } from '../../src/captures/syscallerrors/index.js';
import { ipv6, MAX_NR } from '../../src/captures/syscallerrors/decode.js';
import { argumentTable, FD_ARGUMENT } from '../../src/captures/syscallerrors/file-calls.js';
import { FdTargets, filesystemOf, procFdTarget } from '../../src/captures/syscallerrors/fd-targets.js';
import { captureAround } from '../helpers/capture-around.js';
import { faultsBinary } from '../helpers/faults.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { waitFor } from '../server/harness.js';
import { createTestNetwork } from '../helpers/netns.js';
import { programsDir } from '../eval/incidents.js';
import { mountTmpfs } from '../helpers/test-filesystems.js';

const skip = kernelSkipReason();
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const analyze = (result: { rows: unknown[] } & Partial<SyscallerrorsData>, windowSeconds = 2) =>
  syscallerrors.analysis!.analyze({ failures: 0, normalFailures: 0, ...result } as never, {
    node: 'n1',
    capture: 'syscallerrors',
    file: 'nodes/n1/syscallerrors.json',
    thresholds: mergeThresholds(),
    windowSeconds,
  });

const row = (over: Record<string, unknown>) => ({
  pid: 14051,
  comm: 'python3',
  uid: 0,
  cgroupId: '1',
  syscall: 'write',
  nr: 1,
  errno: 'ENOSPC',
  count: 1370,
  perSecond: 685,
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-01T00:00:02.000Z',
  tid: 14051,
  ...over,
});

/** A child that says "done" on stdout once it has failed, and holds its fds until its stdin ends. */
async function startHeld(argv: string[]): Promise<ChildProcess> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.once('exit', () => clearTimeout(timer));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('done')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code} before it was done`)));
  });
  return child;
}

async function release(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.stdin!.end();
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await once(child, 'exit');
  clearTimeout(killer);
}

describe('syscallerrors fd titles', () => {
  it('a write to a full disk names the file, its fd and the filesystem with its free space', () => {
    const fdTarget = {
      kind: 'file',
      name: '/var/log/app/app.log',
      filesystem: { mountPoint: '/var/log', type: 'ext4', source: '/dev/sdb1', sizeBytes: 1 << 30, freeBytes: 0, freeInodes: 100 },
    };
    const { findings } = analyze({ rows: [row({ fd: 3, fdTarget })] }, 8);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.title).toMatch(
      /^python3 \(pid 14051\) failed write\(\) to \/var\/log\/app\/app\.log \(fd 3\) with ENOSPC 1,370 times in 8 s on n1 .*: no space left on the device.* \(\/var\/log \(ext4\) has 0 B of 1(\.0)? GiB free\)\.$/,
    );
    expect(findings[0]!.evidence).toMatchObject({ fds: [3], fdTarget: '/var/log/app/app.log', filesystem: { mountPoint: '/var/log' } });
  });

  it("a program's connections to one peer are one finding, said as connections; another peer is another", () => {
    const conn = (fd: number, remote: string) =>
      row({ syscall: 'write', errno: 'EPIPE', count: 100, fd, fdTarget: { kind: 'socket', protocol: 'tcp', name: `TCP ${remote}`, remote } });
    const rows = [...Array.from({ length: 12 }, (_, i) => conn(10 + i, '10.0.0.5:6379')), conn(40, '10.0.0.9:5432')];
    const { findings } = analyze({ rows });
    expect(findings).toHaveLength(2);
    expect(findings[0]!.title).toContain('failed write() to TCP 10.0.0.5:6379 (12 connections) with EPIPE 1,200 times');
    expect(findings[1]!.title).toContain('failed write() to TCP 10.0.0.9:5432 (fd 40) with EPIPE 100 times');
  });

  it('an fd closed before the capture ended is said so; a call with a path keeps its path', () => {
    const { findings } = analyze({
      rows: [
        row({ errno: 'EBADF', fd: 7, fdTarget: { kind: 'gone', name: 'closed before the capture ended' } }),
        row({ syscall: 'openat', errno: 'ENOENT', path: '/etc/x.conf', count: 100 }),
      ],
    });
    expect(findings.map((f) => f.title)).toEqual([
      expect.stringContaining('failed write() on fd 7 (closed before the capture ended) with EBADF'),
      expect.stringContaining('failed openat("/etc/x.conf") with ENOENT'),
    ]);
  });

  it('normal failures on many fds are said once per program, call and errno', () => {
    const probe = (fd: number, name: string) =>
      row({ comm: 'node', syscall: 'ioctl', errno: 'ENOTTY', count: 50, normal: 'ENOTTY from ioctl: a probe', fd, fdTarget: { kind: 'file', name } });
    const { findings } = analyze({ rows: [probe(0, '/dev/null'), probe(1, '/tmp/a.log'), probe(2, '/tmp/b.log')] });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.title).toContain('mostly node ioctl ENOTTY (75/s): not a cause');
  });

  it('/proc: a file, an fd not open, a process gone, and the mount holding a path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-fdt-'));
    const fd = openSync(join(dir, 'x.log'), 'w');
    try {
      expect(procFdTarget(process.pid, fd)).toEqual({ kind: 'file', name: join(dir, 'x.log') });
      expect(procFdTarget(process.pid, 999_999)).toEqual({ kind: 'gone', name: 'closed before the capture ended' });
      expect(new FdTargets().resolve(process.pid, 999_999, undefined, 'EBADF')).toEqual({ kind: 'gone', name: 'not an open fd' });
      const child = spawn('true');
      await once(child, 'exit');
      expect(procFdTarget(child.pid!, 1)).toEqual({ kind: 'gone', name: 'its process ended before the capture did' });
      expect(filesystemOf(process.pid, '/proc/self/status')).toMatchObject({ mountPoint: '/proc', type: 'proc' });
      expect(filesystemOf(process.pid, '/')).toMatchObject({ mountPoint: '/' });
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fd_args covers the fd calls and IPv6 addresses are written as RFC 5952 text', () => {
    const x64 = argumentTable(FD_ARGUMENT, MAX_NR, 'x64');
    expect([x64.get(0), x64.get(1), x64.get(44), x64.get(42), x64.get(2)]).toEqual([1, 1, 1, 1, undefined]); // read write sendto connect; open has none
    const b = Buffer.alloc(16);
    b[15] = 1;
    expect(ipv6(b)).toBe('::1');
    expect(ipv6(Buffer.from('20010db8000000000001000000000001', 'hex'))).toBe('2001:db8::1:0:0:1');
    expect(ipv6(Buffer.from('00000000000000000000ffff0a000005', 'hex'))).toBe('::ffff:10.0.0.5');
  });
});

describe.skipIf(skip)(`syscallerrors fds on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('writes to a file on a full tmpfs: the row and the title name the file, its fd and the filesystem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-enospc-'));
    const file = join(dir, 'app.log');
    let child: ChildProcess | undefined;
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'sherlock-enospc', dir]);
      mounted = true;
      const { result } = await captureAround(
        syscallerrors,
        async () => {
          child = await startHeld([faultsBinary(), 'fillwrite', file, '2000']);
        },
        { settleMs: 50 },
      );
      const rows = result.rows.filter((r) => r.pid === child!.pid && r.errno === 'ENOSPC');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ syscall: 'write', fd: 3, fdTarget: { kind: 'file', name: file, filesystem: { mountPoint: dir, type: 'tmpfs' } } });
      expect(rows[0]!.path).toBeUndefined();
      expect(rows[0]!.count).toBeGreaterThan(1900);

      const { findings } = analyze({ ...result, rows }, result.durationMs / 1000);
      expect(findings).toHaveLength(1);
      expect(findings[0]!.title).toMatch(new RegExp(`^faults \\(pid ${child!.pid}[^)]*\\) failed write\\(\\) to ${esc(file)} \\(fd 3\\) with ENOSPC`));
      expect(findings[0]!.title).toMatch(new RegExp(`\\(${esc(dir)} \\(tmpfs\\) has 0 B of 64 KiB free\\)\\.$`));
    } finally {
      await release(child);
      if (mounted) execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a tmpfs full of a deleted file still open: the title names the file, its holder and its fd (df counts it, du does not)', async () => {
    const fs = mountTmpfs('1m');
    const rotated = join(fs.mount, 'app.log.1');
    const file = join(fs.mount, 'app.log');
    let holder: ChildProcess | undefined;
    let child: ChildProcess | undefined;
    try {
      holder = await startHeld([faultsBinary(), 'fillwrite', rotated, '192']); // 768 KiB, kept open
      rmSync(rotated);
      const { result } = await captureAround(
        syscallerrors,
        async () => {
          child = await startHeld([faultsBinary(), 'fillwrite', file, '200']);
        },
        { settleMs: 50 },
      );
      const rows = result.rows.filter((r) => r.pid === child!.pid && r.errno === 'ENOSPC');
      expect(rows).toHaveLength(1);
      const deletedOpen = (rows[0]!.fdTarget as { filesystem?: { deletedOpen?: unknown } }).filesystem?.deletedOpen;
      expect(deletedOpen).toEqual({ bytes: 768 * 1024, count: 1, files: [{ path: rotated, bytes: 768 * 1024, pid: holder.pid, comm: 'faults', fd: 3 }] });
      const { findings } = analyze({ ...result, rows }, result.durationMs / 1000);
      expect(findings[0]!.title).toContain(
        `; 768 KiB of its used space is a deleted file still open, which du does not count: ${rotated}, 768 KiB, held by faults (pid ${holder.pid}) as fd 3; ` +
          `empty it with : > /proc/${holder.pid}/fd/3 or restart faults`,
      );
    } finally {
      await release(child);
      await release(holder);
      fs.remove();
    }
  }, 60_000);

  it('creating files on a tmpfs out of inodes: the row of the path names its filesystem, with no inodes free', async () => {
    const fs = mountTmpfs('1m,nr_inodes=4');
    let child: ChildProcess | undefined;
    try {
      // A service creating files (sessions): it is still there when its failures are looked up.
      const creating = 'for i in 1 2 3 4 5 6; do true > "$1/s$i"; done 2>/dev/null; echo done; cat > /dev/null';
      const { result } = await captureAround(syscallerrors, async () => {
        child = await startHeld(['sh', '-c', creating, 'sh', fs.mount]);
      });
      const rows = result.rows.filter((r) => r.errno === 'ENOSPC' && r.path?.startsWith(fs.mount));
      expect(rows.length).toBeGreaterThan(0);
      expect(rows[0]).toMatchObject({ comm: 'sh', filesystem: { mountPoint: fs.mount, type: 'tmpfs', freeInodes: 0 } });
      const { findings } = analyze({ ...result, rows }, result.durationMs / 1000);
      expect(findings[0]!.title).toMatch(new RegExp(`\\(${esc(fs.mount)} \\(tmpfs\\) has [\\d.]+ [KM]iB of 1(\\.0)? MiB free, no inodes free\\)\\.$`));
    } finally {
      await release(child);
      fs.remove();
    }
  }, 60_000);

  it('writes to a TCP connection the peer closed (EPIPE) name the peer; EAGAIN reads on it keep no fd', async () => {
    const peers: Socket[] = [];
    const server = createServer((s) => {
      peers.push(s);
      setTimeout(() => s.destroy(), 300); // after the client's EAGAIN reads
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    let child: ChildProcess | undefined;
    try {
      const { result } = await captureAround(
        syscallerrors,
        async () => {
          child = await startHeld([faultsBinary(), 'sockets', String(port), '500']);
        },
        { settleMs: 50 },
      );
      const mine = result.rows.filter((r) => r.pid === child!.pid);
      const epipe = mine.filter((r) => r.errno === 'EPIPE');
      expect(epipe).toHaveLength(1);
      expect(epipe[0]).toMatchObject({
        syscall: 'write',
        fd: 3,
        fdTarget: { kind: 'socket', protocol: 'tcp', name: `TCP 127.0.0.1:${port}`, remote: `127.0.0.1:${port}` },
      });
      expect(epipe[0]!.count).toBeGreaterThanOrEqual(490);
      const eagain = mine.filter((r) => r.errno === 'EAGAIN');
      // 500 reads, then more while it waits for the peer's close: all one row, without the fd.
      expect(eagain).toMatchObject([{ syscall: 'read' }]);
      expect(eagain[0]!.count).toBeGreaterThanOrEqual(500);
      expect(eagain[0]!.fd).toBeUndefined();
      expect(eagain[0]!.fdTarget).toBeUndefined();

      const { findings } = analyze({ ...result, rows: mine }, result.durationMs / 1000);
      const warning = findings.find((f) => f.severity === 'warning');
      expect(warning?.title).toContain(`failed write() to TCP 127.0.0.1:${port} (fd 3) with EPIPE`);
    } finally {
      await release(child);
      for (const s of peers) s.destroy();
      server.close();
    }
  }, 60_000);

  it('a server out of descriptors: EMFILE on accept4 names its listener, and the census counts the connections it leaked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-emfile-'));
    const counter = join(dir, 'failures');
    const failures = () => Number(readFileSync(counter, 'utf8').trim()) || 0;
    // Limit 64 descriptors; each answered connection is kept open (left in CLOSE_WAIT), then accept() fails with EMFILE.
    const server = spawn(join(programsDir, 'fd-leak.py'), ['127.0.0.1', '0', counter, '30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const clients: Socket[] = [];
    try {
      const port = Number((await once(server.stdout!, 'data'))[0]);
      let served = 0;
      const { result } = await captureAround(
        syscallerrors,
        async () => {
          const request = () =>
            new Promise<void>((resolve) => {
              const s = connect(port, '127.0.0.1');
              clients.push(s);
              s.on('data', () => (served++, s.destroy(), resolve()));
              s.on('error', () => resolve());
              setTimeout(resolve, 2000); // still in its accept queue
            });
          // In waves of 10, under its backlog of 16: a burst of 70 at once had SYNs dropped and retried after 1 and 3 s on a loaded machine.
          for (let wave = 0; wave < 7; wave++) await Promise.all(Array.from({ length: 10 }, request));
          await waitFor('three failed accepts', () => failures() >= 3, { timeoutMs: 5000 });
        },
        { settleMs: 50 },
      );
      const rows = result.rows.filter((r) => r.pid === server.pid && r.errno === 'EMFILE');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ syscall: 'accept4', fdTarget: { kind: 'socket', protocol: 'tcp', local: `127.0.0.1:${port}` } });
      expect(rows[0]!.count).toBeGreaterThanOrEqual(3);
      expect(rows[0]!.count).toBeLessThanOrEqual(failures());
      const census = rows[0]!.fdCensus!;
      expect(census.limit).toBe(64);
      expect(census.open).toBeGreaterThanOrEqual(64);
      expect(served).toBeGreaterThan(50);
      // Every connection it accepted is still open: in CLOSE_WAIT once its client's close arrived (a busy host may lag).
      const accepted = census.tcpStates.filter((x) => x.state !== 'LISTEN').reduce((n, x) => n + x.count, 0);
      expect(accepted).toBe(served);
      expect(census.tcpStates.find((x) => x.state === 'CLOSE_WAIT')?.count).toBeGreaterThan(0);
      expect(census.tcpStates).toContainEqual({ state: 'LISTEN', count: 1 });

      const { findings } = analyze({ ...result, rows }, result.durationMs / 1000);
      expect(findings).toHaveLength(1);
      expect(findings[0]!.title).toContain(`orders-api (pid ${server.pid}`);
      expect(findings[0]!.title).toContain(`failed accept4() on TCP socket 127.0.0.1:${port} (fd 4) with EMFILE`);
      expect(findings[0]!.title).toMatch(new RegExp(`of its 64 descriptors: ${served + 1} TCP sockets \\(\\d+ in CLOSE_WAIT`));
    } finally {
      for (const s of clients) s.destroy();
      server.kill('SIGKILL');
      if (server.exitCode === null && server.signalCode === null) await once(server, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a client out of local ports: EADDRNOTAVAIL from connect names the TIME_WAIT connections of its namespace', async () => {
    const net = createTestNetwork();
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-ports-'));
    const counter = join(dir, 'failures');
    const failures = () => Number(readFileSync(counter, 'utf8').trim()) || 0;
    try {
      // 64 local ports, and no reuse of a TIME_WAIT one: its 65th connection in 60 s finds none.
      net.exec(['sysctl', '-qw', 'net.ipv4.ip_local_port_range=40000 40063']);
      net.exec(['sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=0']);
      const port = 8615;
      await net.listen(port);
      let client: ChildProcess | undefined;
      const { result } = await captureAround(
        syscallerrors,
        async () => {
          client = net.spawn([join(programsDir, 'no-pool.py'), net.peerAddress, String(port), counter, '30']);
          await waitFor('three failed connects', () => failures() >= 3, { timeoutMs: 10_000 });
        },
        { settleMs: 50 },
      );
      const rows = result.rows.filter((r) => r.pid === client!.pid && r.errno === 'EADDRNOTAVAIL');
      expect(rows.length).toBeGreaterThanOrEqual(1);
      expect(rows.every((r) => r.syscall === 'connect')).toBe(true);
      const timeWait = net.exec(['ss', '-tanH', 'state', 'time-wait']).trim().split('\n').filter(Boolean).length;
      expect(timeWait).toBeGreaterThanOrEqual(60);
      const census = rows[0]!.portCensus!;
      expect(census.tcpStates.find((x) => x.state === 'TIME_WAIT')?.count).toBeGreaterThanOrEqual(timeWait - 2);
      expect(census.timeWaitTo[0]).toEqual({ destination: `${net.peerAddress}:${port}`, count: expect.any(Number) });
      expect(census.portRange).toBeUndefined(); // another network namespace: its range is not readable from here

      const { findings } = analyze({ ...result, rows }, result.durationMs / 1000);
      expect(findings).toHaveLength(1);
      expect(findings[0]!.title).toContain(`billing-client (pid ${client!.pid}`);
      expect(findings[0]!.title).toContain('with EADDRNOTAVAIL');
      expect(findings[0]!.title).toMatch(
        new RegExp(`with \\d+ TCP connections in TIME_WAIT in its network namespace \\(\\d+ to ${esc(net.peerAddress)}:${port}\\)`),
      );
      expect(findings[0]!.title).toContain('no local port was free to connect from');
    } finally {
      net.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('connects refused by unix sockets: the socket named, a full accept queue (EAGAIN) with its listener, none listening, an abstract name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-unix-'));
    // app.sock: a listener (a child, backlog 1) that never accepts; stale.sock: bound and closed, as a crashed server leaves it.
    const script = `import os, socket, sys
d, parent = sys.argv[1], os.getpid()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind(d + '/app.sock'); srv.listen(1)
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(d + '/stale.sock')
listener = os.fork()
if listener == 0:
    import time
    while os.getppid() == parent: time.sleep(0.05)
    os._exit(0)
srv.close()
held = []
def attempt(address, n):
    for _ in range(n):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.setblocking(False)
        try: c.connect(address); held.append(c)
        except OSError: c.close()
attempt(d + '/app.sock', 200)
attempt(d + '/stale.sock', 100)
attempt('\\0sherlock-test-%d' % parent, 100)
print(listener, 'done', flush=True)
sys.stdin.read()`;
    let child: ChildProcess | undefined;
    try {
      const { result } = await captureAround(syscallerrors, async () => {
        child = await startHeld(['/usr/bin/python3', '-c', script, dir]);
      });
      const mine = result.rows.filter((r) => r.pid === child!.pid && r.syscall === 'connect');
      const listener = Number(execFileSync('cat', [`/proc/${child!.pid}/task/${child!.pid}/children`], { encoding: 'utf8' }).trim());
      const full = mine.find((r) => r.errno === 'EAGAIN');
      expect(full).toMatchObject({ unixSocket: join(dir, 'app.sock'), listener: { backlog: 1, queued: 2, owner: { pid: listener, comm: 'python3' } } });
      expect(full!.count).toBe(198); // the first two wait in its queue
      expect(full!.normal).toBeUndefined();
      expect(full!.path).toBeUndefined();
      const refused = mine.filter((r) => r.errno === 'ECONNREFUSED');
      expect(refused.map((r) => [r.unixSocket, r.count, r.listener])).toEqual(
        expect.arrayContaining([
          [join(dir, 'stale.sock'), 100, undefined],
          [`@sherlock-test-${child!.pid}`, 100, undefined],
        ]),
      );

      const { findings } = analyze({ ...result, rows: mine });
      const title = (errno: string, socket: string) => findings.find((f) => f.evidence.errno === errno && f.evidence.unixSocket === socket)?.title;
      expect(title('EAGAIN', join(dir, 'app.sock'))).toContain(
        `failed connect() to unix socket ${join(dir, 'app.sock')} with EAGAIN 198 times in 2 s on n1 (99/s, threshold 10/s), python3 (pid ${listener}) listening with a backlog of 1, 2 connections waiting: the listener's accept queue was full`,
      );
      expect(title('ECONNREFUSED', join(dir, 'stale.sock'))).toContain(
        'with ECONNREFUSED 100 times in 2 s on n1 (50/s, threshold 10/s): nothing listens on it: the socket file is left',
      );
      expect(title('ECONNREFUSED', `@sherlock-test-${child!.pid}`)).toContain(`failed connect() to unix socket @sherlock-test-${child!.pid} with ECONNREFUSED`);
    } finally {
      await release(child);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
