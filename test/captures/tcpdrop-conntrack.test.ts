// tcpdrop and a full connection-tracking table: in a test namespace that
// tracks connections (an nftables ct rule), with the host's nf_conntrack_max
// lowered to 16 for the test, connections beyond 16 have their SYNs dropped
// by netfilter itself (NETFILTER_DROP in nf_hook_slow). The capture must say
// which namespace's table was full and how many packets it dropped, and the
// finding for the full table must lead the drops; a rule's drops (in
// nft_do_chain) are not put on the table.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { linkCauses } from '../../src/analysis/causes.js';
import { tcpdrop } from '../../src/captures/tcpdrop/index.js';
import { hasTracepoint } from '../../src/libbpf/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';

const CONNTRACK_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
const PORT = 7310;
const TABLE = 16;
const skip =
  kernelSkipReason() ??
  (!hasTracepoint('skb', 'kfree_skb')
    ? 'no skb:kfree_skb tracepoint in this kernel'
    : !existsSync(CONNTRACK_MAX)
      ? 'no connection tracking (nf_conntrack) on this host'
      : Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8')) > 0
        ? "this host's own namespace tracks connections: a lower nf_conntrack_max would drop its packets too"
        : undefined);

const ctx = (windowSeconds: number) => ({ node: 'web-1', capture: 'tcpdrop', file: 'nodes/web-1/tcpdrop.json', thresholds: mergeThresholds(), windowSeconds });

/** Opens `count` connections to host:port one after another, each given up (closed) after timeoutMs; those that connect stay open. */
async function open(host: string, port: number, count: number, timeoutMs: number): Promise<{ sockets: Socket[]; connected: number }> {
  const sockets: Socket[] = [];
  let connected = 0;
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve) => {
      const s = connect({ host, port });
      sockets.push(s);
      const t = setTimeout(() => (s.destroy(), resolve()), timeoutMs);
      s.once('connect', () => (connected++, clearTimeout(t), resolve()));
      s.once('error', () => (clearTimeout(t), resolve()));
    });
  }
  return { sockets, connected };
}

describe('tcpdrop: a full connection-tracking table', () => {
  it("a rule's drops (nft_do_chain) are not the table's; netfilter's own (nf_hook_slow) are its effect", () => {
    const row = (location: string, destination: string) => ({ reason: 'NETFILTER_DROP', drops: 12, protocol: 'tcp', destination, location });
    const table = { netns: 'net:[4026532999]', host: false, pid: 77, comm: 'orders-api', entries: 64, max: 64, drops: 12, earlyDrops: 0 };
    const { findings } = tcpdrop.analysis!.analyze(
      { rows: [row('nft_do_chain', '10.0.0.1:80'), row('nf_hook_slow', '10.0.0.2:8618')], listeners: [], conntrack: [table] } as never,
      ctx(3),
    );
    expect(findings[0]!.title).toMatch(
      /^The connection-tracking table of the network namespace of orders-api \(pid 77\) on web-1 is full \(64 entries of nf_conntrack_max 64\): new connections' packets it could not track were dropped, 12 in the 3 s window/,
    );
    expect(findings[0]!.impact!.value).toBeCloseTo(4, 3); // 12 SYNs × 1 s over 3 s
    const linked = linkCauses([...findings]);
    expect(linked.map((f) => f.id)).toEqual([findings[0]!.id, 'tcpdrop:web-1:drop:NETFILTER_DROP:10.0.0.1:80']);
    expect(linked[0]!.title).toContain('Effect: 12 TCP packets to 10.0.0.2:8618 were dropped');
  });
});

describe.skipIf(skip)(`tcpdrop and conntrack on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNetwork | undefined;
  let oldMax: string | undefined;
  const sockets: Socket[] = [];

  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
    if (oldMax) writeFileSync(CONNTRACK_MAX, oldMax);
    oldMax = undefined;
    net?.destroy();
    net = undefined;
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('names the namespace whose table is full, its entries, the limit and the packets it dropped', async () => {
    net = createTestNetwork();
    net.nft(`table inet sherlock_test_ct {
      chain input {
        type filter hook input priority 0;
        ct state established,related accept
        ct state new accept
      }
    }`);
    const server = await net.listen(PORT);
    oldMax = readFileSync(CONNTRACK_MAX, 'utf8').trim();
    writeFileSync(CONNTRACK_MAX, String(TABLE)); // the host's: only this namespace tracks connections
    let connected = 0;
    const { result } = await captureAround(tcpdrop, async () => {
      const opened = await open(net!.peerAddress, PORT, TABLE + 8, 1200);
      sockets.push(...opened.sockets);
      connected = opened.connected;
    });
    expect(connected).toBe(TABLE); // the table holds one entry per open connection
    const table = result.conntrack?.find((t) => t.pid === server.pid);
    expect(table).toMatchObject({ host: false, entries: TABLE, max: TABLE });
    // Each of the 8 left over lost its SYN and its retry after 1 s (given up at 1.2 s).
    expect(table!.drops).toBe(16);
    const netfilter = result.rows.find((r) => r.reason === 'NETFILTER_DROP' && r.destination === `${net!.peerAddress}:${PORT}`);
    expect(netfilter).toMatchObject({ drops: 16, location: 'nf_hook_slow' });
    const [lead] = linkCauses(tcpdrop.analysis!.analyze(result as never, ctx(result.durationMs / 1000)).findings);
    expect(lead!.title).toContain(`The connection-tracking table of the network namespace of node (pid ${server.pid})`);
    expect(lead!.title).toContain('Effect: 16 TCP packets to');
  }, 60_000);
});
