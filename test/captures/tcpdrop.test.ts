// tcpdrop against the real kernel, in a network namespace of the test's own:
// a listener with backlog 1 that never accepts, hammered by a bounded number
// of connects, must be named with its port, owner, backlog and drop count;
// SYNs dropped by an nftables rule must show with their reason
// (NETFILTER_DROP) and destination. Reason names come from the kernel's BTF.
import { once } from 'node:events';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { keyLayout, listenerLayout, valueLayout } from '../../src/captures/tcpdrop/decode.js';
import { tcpdrop } from '../../src/captures/tcpdrop/index.js';
import { dropReasons } from '../../src/captures/tcpdrop/reasons.js';
import { hasTracepoint } from '../../src/libbpf/index.js';
import { projectRoot } from '../../src/util/paths.js';
import { captureAround } from '../helpers/capture-around.js';
import { cgroup2Mount, removeCgroups } from '../helpers/cgroups.js';
import { cRecordLayout } from '../helpers/c-layout.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';

const skip = kernelSkipReason() ?? (hasTracepoint('skb', 'kfree_skb') ? undefined : 'no skb:kfree_skb tracepoint in this kernel');
const LISTEN_PORT = 7301;
const FIREWALLED_PORT = 7302;
const CONNECTS = 12;

/** `count` connects at once to host:port, each given up after timeoutMs; resolves when all are settled. */
async function hammer(host: string, port: number, count: number, timeoutMs: number): Promise<void> {
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const s = connect({ host, port });
          sockets.push(s);
          const t = setTimeout(() => resolve(), timeoutMs);
          s.once('error', () => (clearTimeout(t), resolve()));
        }),
    ),
  );
  for (const s of sockets) s.destroy();
}

describe('tcpdrop records and reasons', () => {
  it('match bpf/tcpdrop/tcpdrop.h', () => {
    const header = join(projectRoot, 'bpf/tcpdrop/tcpdrop.h');
    for (const layout of [keyLayout, valueLayout, listenerLayout]) {
      expect(cRecordLayout(header, layout)).toEqual({ struct: layout.struct, size: layout.size, offsets: layout.offsets });
    }
  });

  it.skipIf(skip)('names reasons from the kernel BTF as the tracepoint prints them', async () => {
    const reasons = dropReasons();
    expect(reasons.source).toBe('btf');
    // The tracepoint's own table (print fmt) is the kernel's word on the numbering.
    const { readFileSync } = await import('node:fs');
    const format = readFileSync('/sys/kernel/tracing/events/skb/kfree_skb/format', 'utf8');
    const pairs = [...format.matchAll(/\{ (\d+), "(\w+)" \}/g)].map((m) => [Number(m[1]), m[2]!] as const);
    expect(pairs.length).toBeGreaterThan(10);
    for (const [n, name] of pairs) expect(reasons.name(n)).toBe(name);
    expect(reasons.name(1_000_000)).toBe('reason 1000000');
  });

  it("a socket's own close freeing its queues (QUEUE_PURGE) is counted, never a finding; a firewall's drops are", () => {
    const ctx = { node: 'web-1', capture: 'tcpdrop', file: 'nodes/web-1/tcpdrop.json', thresholds: mergeThresholds(), windowSeconds: 3 };
    const row = (reason: string, drops: number) => ({ reason, drops, protocol: 'tcp', destination: '127.0.0.1:8080', location: 'sk_stream_kill_queues' });
    const { findings, checked } = tcpdrop.analysis!.analyze({ rows: [row('QUEUE_PURGE', 500), row('NETFILTER_DROP', 50)], listeners: [] } as never, ctx);
    expect(findings.map((f) => f.evidence.reason)).toEqual(['NETFILTER_DROP']);
    expect(checked).toContain('550 drops');
  });

  it('UDP datagrams to no socket (late replies) are information; TCP packets to no socket stay a drop that costs a retry', () => {
    const ctx = { node: 'web-1', capture: 'tcpdrop', file: 'nodes/web-1/tcpdrop.json', thresholds: mergeThresholds(), windowSeconds: 3 };
    const row = (protocol: string) => ({ reason: 'NO_SOCKET', drops: 40, protocol, destination: '10.0.0.5:5353', location: 'udp_rcv' });
    const [udp] = tcpdrop.analysis!.analyze({ rows: [row('udp')], listeners: [] } as never, ctx).findings;
    expect(udp!.severity).toBe('info');
    expect(udp!.title).toContain('nothing listened on that UDP port');
    const [tcp] = tcpdrop.analysis!.analyze({ rows: [row('tcp')], listeners: [] } as never, ctx).findings;
    expect(tcp!.severity).toBe('warning');
    expect(tcp!.evidence.impact).toMatchObject({ drops: 40 });
  });

  it("a listener's background drops (segments of connections just reset: TCP_FLAGS) count from 20, and are not called a full accept queue", () => {
    const ctx = { node: 'web-1', capture: 'tcpdrop', file: 'nodes/web-1/tcpdrop.json', thresholds: mergeThresholds(), windowSeconds: 8 };
    const row = (drops: number) => ({ reason: 'TCP_FLAGS', drops, protocol: 'tcp', port: 8955, pid: 40, comm: 'upload-api', state: 'LISTEN', backlog: 64 });
    expect(tcpdrop.analysis!.analyze({ rows: [row(13)], listeners: [] } as never, ctx).findings).toEqual([]);
    const [many] = tcpdrop.analysis!.analyze({ rows: [row(40)], listeners: [] } as never, ctx).findings;
    expect(many!.title).toContain("the kernel's reason is TCP_FLAGS");
    expect(many!.title).not.toContain('accept queue');
  });

  it('refuses unknown settings', async () => {
    const { runCapture } = await import('../../src/captures/run-capture.js');
    await expect(runCapture(tcpdrop, { durationMs: 10, params: { maxRows: 1 } })).rejects.toThrow(/maxRows/);
  });
});

describe.skipIf(skip)(`tcpdrop on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNetwork;
  beforeEach(() => {
    net = createTestNetwork();
  });
  afterEach(() => {
    net?.destroy();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('names an overflowing listener by port, owner, backlog and drop count', async () => {
    // backlog 1, never accepts: the accept queue is full after two connects.
    const listener = net.spawn([
      'python3',
      '-c',
      [
        'import socket, sys, time',
        's = socket.socket()',
        `s.bind(("${net.peerAddress}", ${LISTEN_PORT}))`,
        's.listen(1)',
        'print("listening", flush=True)',
        'time.sleep(30)',
      ].join('\n'),
    ]);
    await once(listener.stdout!, 'data');

    const { result, programIds } = await captureAround(tcpdrop, () => hammer(net.peerAddress, LISTEN_PORT, CONNECTS, 1500), { settleMs: 100 });
    expect(stillLoaded(programIds)).toEqual([]);
    // A SYN refused for a full accept queue is freed as consumed on this kernel family, so the
    // listener comes from sampling: its queue at the limit, its namespace's ListenOverflows.
    const mine = result.listeners.filter((l) => l.port === LISTEN_PORT);
    expect(mine, JSON.stringify(result.listeners)).toHaveLength(1);
    const l = mine[0]!;
    expect(l).toMatchObject({ pid: listener.pid, comm: 'python3', backlog: 1, maxAcceptQueue: 2, sharedWith: 0 });
    // Ten connects beyond the queue's two, each SYN refused, and again on its retry after 1 s.
    expect(l.namespaceOverflows).toBeGreaterThanOrEqual(CONNECTS - 2);
    expect(l.namespaceOverflows).toBeLessThanOrEqual((CONNECTS - 2) * 3);
    // Packet drops the kernel did free with a reason at that listener (the handshake's last ACK) carry its backlog.
    for (const r of result.rows.filter((r) => r.port === LISTEN_PORT)) expect(r).toMatchObject({ pid: listener.pid, backlog: 1, state: 'LISTEN' });

    const ctx = { node: 'web-1', capture: 'tcpdrop', file: 'nodes/web-1/tcpdrop.json', thresholds: mergeThresholds(), windowSeconds: result.durationMs / 1000 };
    const { findings } = tcpdrop.analysis!.analyze(result as never, ctx);
    const f = findings.find((x) => x.id === `tcpdrop:web-1:listener:${LISTEN_PORT}:${listener.pid}:overflow`);
    expect(f, findings.map((x) => x.title).join('\n')).toBeDefined();
    expect(f!.title).toContain(
      `The listener on port ${LISTEN_PORT} of python3 (pid ${listener.pid}) on web-1 refused ${l.namespaceOverflows} connection attempts (accept queue full: 2 waiting, backlog 1)`,
    );
    expect(f!.title).toContain('accepts too slowly');
    expect(f!.severity).toBe('critical');
    expect(f!.evidence).toMatchObject({ port: LISTEN_PORT, pid: listener.pid, backlog: 1, drops: l.namespaceOverflows });
    expect((f!.evidence.impact as { dropsPerSecond: number }).dropsPerSecond).toBeGreaterThan(0);

    // A target that is not the listener's owner leaves it out.
    const other = await captureAround(tcpdrop, () => hammer(net.peerAddress, LISTEN_PORT, 4, 300), { target: { pid: [process.pid] } });
    expect(other.result.listeners.filter((x) => x.port === LISTEN_PORT)).toEqual([]);
    expect(other.result.rows.filter((r) => r.port === LISTEN_PORT)).toEqual([]);

    // Sherlock's own sockets (a process in its cgroup) are left out host-wide, and counted apart.
    const v2 = cgroup2Mount();
    if (!v2) return; // no cgroup v2: Sherlock has no cgroup of its own to leave out
    const ownDir = join(v2, `sherlock-test-tcpdrop-${process.pid}`);
    mkdirSync(ownDir);
    try {
      writeFileSync(join(ownDir, 'cgroup.procs'), String(listener.pid));
      const excludeCgroupId = statSync(ownDir, { bigint: true }).ino;
      const own = await captureAround(tcpdrop, () => hammer(net.peerAddress, LISTEN_PORT, CONNECTS, 1500), { excludeCgroupId, settleMs: 100 });
      expect(own.result.listeners.filter((x) => x.port === LISTEN_PORT)).toEqual([]);
      expect(own.result.rows.filter((r) => r.port === LISTEN_PORT)).toEqual([]);
    } finally {
      await removeCgroups([listener], [ownDir]);
    }
  });

  it('shows SYNs dropped by an nftables rule with their reason and destination', async () => {
    net.nft(`table inet sherlock_tcpdrop {
      chain input { type filter hook input priority 0; tcp dport ${FIREWALLED_PORT} tcp flags syn drop; }
    }`);
    const { result } = await captureAround(tcpdrop, () => hammer(net.peerAddress, FIREWALLED_PORT, 5, 300), { settleMs: 100 });
    const dest = `${net.peerAddress}:${FIREWALLED_PORT}`;
    const rows = result.rows.filter((r) => r.destination === dest);
    expect(rows.length, JSON.stringify(result.rows.slice(0, 5))).toBeGreaterThan(0);
    expect(rows.every((r) => r.reason === 'NETFILTER_DROP' && r.protocol === 'tcp' && r.port === 0)).toBe(true);
    expect(rows.every((r) => r.source === net.hostAddress)).toBe(true); // the client's ephemeral port is not kept
    const drops = rows.reduce((n, r) => n + r.drops, 0);
    expect(rows).toHaveLength(1); // five connects, one row
    expect(drops).toBeGreaterThanOrEqual(5);
    expect(drops).toBeLessThanOrEqual(10);

    const ctx = { node: 'web-1', capture: 'tcpdrop', file: 'nodes/web-1/tcpdrop.json', thresholds: mergeThresholds(), windowSeconds: result.durationMs / 1000 };
    const f = tcpdrop.analysis!.analyze(result as never, ctx).findings.find((x) => x.id === `tcpdrop:web-1:drop:NETFILTER_DROP:${dest}`);
    expect(f).toBeDefined();
    expect(f!.title).toMatch(new RegExp(`^\\d+ TCP packets to ${dest.replace(/\./g, '\\.')} were dropped on web-1 \\(NETFILTER_DROP, in \\w+`));
    expect(f!.title).toContain('firewall rule');
    expect(tcpdrop.baseline!(result as never)[0]).toMatchObject({ metric: 'packet drops per second', unit: 'rate' });
  });

  it('counts UDP datagrams dropped at a socket whose receive buffer is full, with its owner, as data lost', async () => {
    // A receiver in the namespace that never reads, with the smallest buffer: all but the first few datagrams are dropped.
    const port = 7303;
    const receiver = net.spawn([
      '/usr/bin/python3',
      '-c',
      `import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1); s.bind(('0.0.0.0', ${port}))
print('bound', flush=True); time.sleep(30)`,
    ]);
    await once(receiver.stdout!, 'data');
    const { createSocket } = await import('node:dgram');
    const sender = createSocket('udp4');
    const sent = 200;
    const { result } = await captureAround(
      tcpdrop,
      async () => {
        for (let i = 0; i < sent; i++) await new Promise((resolve) => sender.send(Buffer.alloc(512, 1), port, net.peerAddress, resolve));
      },
      { settleMs: 100 },
    );
    sender.close();
    receiver.kill('SIGKILL');
    const rows = result.rows.filter((r) => r.protocol === 'udp' && r.port === port);
    expect(rows.map((r) => r.reason)).toEqual(['SOCKET_RCVBUFF']);
    expect(rows[0]).toMatchObject({ pid: receiver.pid, comm: 'python3' });
    expect(rows[0]!.drops).toBeGreaterThan(sent * 0.9);
    expect(rows[0]!.drops).toBeLessThanOrEqual(sent);
    expect(result.protocols).toBe('tcp+udp');

    const ctx = { node: 'web-1', capture: 'tcpdrop', file: 'nodes/web-1/tcpdrop.json', thresholds: mergeThresholds(), windowSeconds: result.durationMs / 1000 };
    const f = tcpdrop.analysis!.analyze(result as never, ctx).findings.find((x) => x.evidence.protocol === 'udp');
    expect(f!.title).toContain(`UDP packets to ${net.peerAddress}:${port} (socket of python3, pid ${receiver.pid}) were dropped`);
    expect(f!.title).toContain('UDP does not resend');
    expect(f!.severity).toBe('warning');
    expect(f!.impact).toBeUndefined();
    expect(f!.evidence.impact).toBeUndefined();
  });
});
