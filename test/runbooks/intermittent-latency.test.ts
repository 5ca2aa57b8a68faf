// intermittent-latency end to end, through the real API, Redis, a worker and
// the kernel: a client connects 9 times to a listener in a network namespace
// (test/helpers/netns.ts) where nftables drops every fourth SYN to its port.
// Dropped SYNs count too (their retransmit is a SYN), so every third connect
// loses its first SYN and takes ~1 s (the SYN retransmit timeout); the rest are
// fast. The top network finding must name that destination, put its p99 near
// 1 s, and say the rest were fast. Everything started is stopped: the
// namespace, the client, the worker, the API, Redis, and no BPF handle stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/analysis/types.js';
import { keys } from '../../src/redis/keys.js';
import { startConnectClient, type ConnectClient } from '../helpers/connect-client.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';
import { redisServerChildren } from '../helpers/redis.js';
import { startRunbookStack, waitFor, type RunbookStack } from './stack.js';

const skip = kernelSkipReason();
const NODE = 'latency-node';
const PORT = 8543;
const CONNECTS = 9;
const DROP_EVERY = 4; // SYNs; with the retransmits counted, one connect in three is slow
const NETWORK_CAPTURES = new Set(['tcpconnlat', 'tcpretrans', 'tcpreset', 'tcprtt']);

describe.skipIf(skip)(`intermittent-latency end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: RunbookStack | undefined;
  let net: TestNetwork | undefined;
  let client: ConnectClient | undefined;

  beforeAll(async () => {
    net = createTestNetwork();
    await net.listen(PORT);
    net.nft(`table inet sherlock_runbook {
      chain input {
        type filter hook input priority 0;
        tcp dport ${PORT} tcp flags syn numgen inc mod ${DROP_EVERY} == 0 drop
      }
    }`);
    stack = await startRunbookStack({ nodes: [NODE] });
  });

  afterAll(async () => {
    client?.kill();
    net?.destroy();
    await stack?.stop();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
    expect(redisServerChildren()).toEqual([]);
  });

  it('names the destination whose connects lose SYNs, its p99 near 1 s, and that the rest were fast', async () => {
    const s = stack!;
    client = startConnectClient(net!.peerAddress, PORT, CONNECTS);

    const submitted = await s.call('POST', '/v1/runs', {
      body: { runbook: 'intermittent-latency', params: { pid: client.child.pid }, duration: '6s', targets: { nodes: [NODE] }, reason: 'e2e' },
    });
    expect(submitted.status, submitted.text).toBe(202);
    const id = submitted.body.id as string;
    const steps = (await s.call('GET', `/v1/runs/${id}`)).body.plan.steps.length as number;
    expect(steps).toBe(23); // the four families, transfers, drops, DNS, answer times, CPU and I/O throttling, disk users, memory reclaim and growth, filesystems filling, lock waits, failing syscalls, process ends and the kernel log

    // Every capture attached (one shared window): then the client starts.
    await waitFor(
      'every capture of the run to be live',
      async () => {
        const entries = await s.conn.xrange(keys.runEvents(id), '-', '+');
        const events = entries.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as { type: string; status?: string });
        if (events.some((e) => e.type === 'run-finished' || (e.type === 'node-finished' && e.status === 'failed')))
          throw new Error(`the run ended early: ${JSON.stringify(events)}`);
        return events.filter((e) => e.type === 'capture-live').length >= steps;
      },
      20_000,
    );
    const connects = await client.batch();
    expect(connects.filter((c) => c.error)).toEqual([]);
    const slow = connects.filter((c) => c.ms > 500);
    // The SYN drops, as the client saw them: a third of the connects, each ~1 s.
    expect(slow).toHaveLength(CONNECTS / 3);
    for (const c of slow) expect(c.ms).toBeGreaterThan(900);
    for (const c of slow) expect(c.ms).toBeLessThan(1500);
    const fastest = Math.max(...connects.filter((c) => c.ms <= 500).map((c) => c.ms));

    const run = await waitFor(
      'the run to end',
      async () => {
        const r = (await s.call('GET', `/v1/runs/${id}`)).body;
        return ['completed', 'partial', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
      },
      30_000,
    );
    expect(run.status, JSON.stringify(run.nodes)).toBe('completed');
    expect(run.nodes[NODE].captures.filter((c: { error?: string }) => c.error)).toEqual([]);

    const reply = await s.call('GET', `/v1/runs/${id}/findings`, { token: s.readToken });
    expect(reply.status, reply.text).toBe(200);
    const findings = reply.body.findings as Finding[];
    const network = findings.filter((f) => NETWORK_CAPTURES.has(f.capture));
    const top = network[0]!;
    const destination = `${net!.peerAddress}:${PORT}`;
    expect(
      top,
      JSON.stringify(
        findings.map((f) => f.title),
        null,
        1,
      ),
    ).toBeDefined();
    expect(top.capture).toBe('tcpconnlat');
    expect(top.node).toBe(NODE);
    expect(top.file).toBe(`nodes/${NODE}/tcpconnlat.json`);
    expect(['warning', 'critical']).toContain(top.severity);
    expect(top.title).toContain(`to ${destination}`);
    expect(top.title).toContain('at p99');
    expect(top.title).toContain('the rest were fast');
    expect(top.evidence).toMatchObject({
      destination,
      connects: CONNECTS,
      slowConnects: slow.length,
      fastConnects: CONNECTS - slow.length,
      restWereFast: true,
    });
    const p99Ms = top.evidence.p99Ms as number;
    expect(p99Ms).toBeGreaterThan(900);
    expect(p99Ms).toBeLessThan(1100);
    // The fast ones: under the threshold in the kernel's histogram, as the client saw them.
    expect(top.evidence.fastUnderMs as number).toBeLessThan(100);
    expect(fastest).toBeLessThan(100);
    expect(top.title).toMatch(/\d+ of 9 \(33%\) took ~1\.0\d s/);
    // It ranks first among everything found, and the run is not "No problems found". (Critical or a warning: 3 s lost
    // over a window of ~6 s is at the 0.5 s/s line where critical starts.)
    expect(findings[0]!.id).toBe(top.id);
    expect(findings.some((f) => f.title.startsWith('No problems found'))).toBe(false);

    // The worker let go of every BPF program, link and map once the run ended.
    await waitFor(
      'no BPF handles left',
      async () => {
        const h = bpfHandlesOf();
        return h.programIds.length === 0 && h.links === 0 && h.maps === 0;
      },
      5_000,
    );
  }, 90_000);
});
