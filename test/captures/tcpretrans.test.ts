// tcpretrans against the real kernel: retransmits this test provokes in a
// namespace (nftables drops data segments, SYNs, the handshake's last ACK)
// are counted on its own flows, with the TCP state, and attributed to the
// socket's owner (this process), not to the softirq or timer that sent them.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpretrans, type RetransRow } from '../../src/captures/tcpretrans/index.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { on, run } from '../analysis/fixtures.js';

const skip = kernelSkipReason();
const myComm = readFileSync('/proc/self/comm', 'utf8').trim();

const captureDuring = (during: () => Promise<void>, request: CaptureAroundOptions = {}) =>
  captureAround(tcpretrans, during, { durationMs: 40_000, ...request });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects; resolves once connected (rejects after timeoutMs). */
function connectTo(host: string, port: number, timeoutMs = 5000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Packets counted by a named nftables counter in the namespace. */
function nftCounter(net: TestNetwork, table: string, name: string): number {
  const text = net.exec(['nft', 'list', 'counter', 'inet', table, name]);
  return Number(/packets (\d+)/.exec(text)?.[1] ?? NaN);
}

/** Send-Q, unacked segments and total retransmitted segments of one socket, from ss (tcp_info). */
function socketInfo(local: string, remote: string): { sendQ: number; unacked: number; totalRetrans: number } {
  const out = execFileSync('ss', ['-tinH', 'src', local, 'dst', remote], { encoding: 'utf8' });
  const first = out.trim().split('\n')[0]?.trim().split(/\s+/) ?? [];
  return {
    sendQ: Number(first[2] ?? NaN),
    unacked: Number(/unacked:(\d+)/.exec(out)?.[1] ?? 0),
    totalRetrans: Number(/retrans:\d+\/(\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** Writes up to `bytes` (64 KiB writes, respecting backpressure) until `deadlineMs` passes. */
async function upload(socket: Socket, bytes: number, deadlineMs: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const end = Date.now() + deadlineMs;
  let written = 0;
  while (written < bytes && Date.now() < end) {
    written += chunk.length;
    if (!socket.write(chunk)) {
      await Promise.race([once(socket, 'drain'), sleep(Math.max(0, end - Date.now()))]);
    }
  }
  return written;
}

const flowRows = (rows: RetransRow[], local: string, remote: string) => rows.filter((r) => r.local === local && r.remote === remote);
const sum = (rows: RetransRow[], field: 'retransmits' | 'failed') => rows.reduce((a, r) => a + r[field], 0);

describe.skipIf(skip)(`tcpretrans on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('counts data and SYN retransmits of this process’s flows, with state, owned by this process', async () => {
    const net = createTestNetwork();
    const dataPort = 18_081;
    const synPort = 18_082;
    try {
      await net.listen(dataPort);
      await net.listen(synPort);
      // ~30% of the data segments to dataPort are dropped on input (not the
      // handshake: length > 100); every other SYN to synPort is dropped.
      net.nft(`table inet tcpretrans_loss {
        counter data_drops {}
        chain input {
          type filter hook input priority 0;
          tcp dport ${dataPort} meta length > 100 numgen random mod 100 < 30 counter name "data_drops" drop
        }
      }
      table inet tcpretrans_syn {
        counter syn_drops {}
        chain input {
          type filter hook input priority 0;
          tcp dport ${synPort} tcp flags syn numgen inc mod 2 == 0 counter name "syn_drops" drop
        }
      }`);

      const data = { local: '', remote: `${net.peerAddress}:${dataPort}`, written: 0, drops: 0, totalRetrans: 0 };
      const syn = { local: '', remote: `${net.peerAddress}:${synPort}`, connectMs: 0 };
      const { result, programIds } = await captureDuring(async () => {
        const lossy = (async () => {
          const socket = await connectTo(net.peerAddress, dataPort);
          data.local = `${socket.localAddress}:${socket.localPort}`;
          data.written = await upload(socket, 4 << 20, 3000);
          // Stop the loss, then let the queue drain: from here on nothing is
          // retransmitted, so tcp_info's total is final.
          data.drops = nftCounter(net, 'tcpretrans_loss', 'data_drops');
          net.exec(['nft', 'delete', 'table', 'inet', 'tcpretrans_loss']);
          const until = Date.now() + 15_000;
          let info = socketInfo(data.local, data.remote);
          while ((info.sendQ > 0 || info.unacked > 0) && Date.now() < until) {
            await sleep(50);
            info = socketInfo(data.local, data.remote);
          }
          expect(info.sendQ).toBe(0);
          data.totalRetrans = info.totalRetrans;
          socket.end();
          await once(socket, 'close');
        })();
        const synDropped = (async () => {
          const started = Date.now();
          const socket = await connectTo(net.peerAddress, synPort);
          syn.connectMs = Date.now() - started;
          syn.local = `${socket.localAddress}:${socket.localPort}`;
          socket.destroy();
        })();
        await Promise.all([lossy, synDropped]);
      });
      expect(stillLoaded(programIds)).toEqual([]);

      // The lossy upload: retransmitted in ESTABLISHED, by this process.
      const dataRows = flowRows(result.rows, data.local, data.remote);
      expect(data.drops).toBeGreaterThan(0);
      expect(data.totalRetrans).toBeGreaterThan(0);
      expect(dataRows.length).toBeGreaterThan(0);
      expect(sum(dataRows, 'retransmits')).toBeGreaterThan(0);
      // Each traced retransmit sends at least one segment; tcp_info counts segments.
      expect(sum(dataRows, 'retransmits')).toBeLessThanOrEqual(data.totalRetrans);
      for (const row of dataRows) {
        expect(row).toMatchObject({ state: 'ESTABLISHED', type: 'segment', pid: process.pid, comm: myComm, family: 'ipv4' });
      }

      // The SYN-drop connect: exactly as many SYN retransmits as SYNs dropped.
      const synDrops = nftCounter(net, 'tcpretrans_syn', 'syn_drops');
      expect(synDrops).toBeGreaterThan(0);
      expect(syn.connectMs).toBeGreaterThan(900); // the 1 s SYN RTO
      const synRows = flowRows(result.rows, syn.local, syn.remote);
      expect(synRows).toHaveLength(1);
      expect(synRows[0]).toMatchObject({ state: 'SYN_SENT', type: 'segment', pid: process.pid, comm: myComm, failed: 0 });
      expect(synRows[0]!.retransmits).toBe(synDrops);

      const me = result.processes.find((p) => p.pid === process.pid);
      expect(me?.retransmits).toBeGreaterThanOrEqual(sum(dataRows, 'retransmits') + synDrops);
      expect(me?.flows).toBeGreaterThanOrEqual(2);
      expect(result.drops.map_full ?? 0).toBe(0);
    } finally {
      net.destroy();
    }
  });

  it('with a pid target: counts its SYN and SYN-ACK retransmits, not those of another process', async () => {
    const net = createTestNetwork();
    const synPort = 18_083;
    const otherPort = 18_084;
    const listenPort = 18_085;
    const server = createServer((s) => s.on('error', () => {}));
    const other = { local: '', code: null as number | null, ms: 0 };
    let mine = '';
    let handshake = '';
    try {
      await net.listen(synPort);
      await net.listen(otherPort);
      // Every other SYN to synPort and otherPort is dropped (one numgen per rule).
      net.nft(`table inet tcpretrans_filter {
        counter mine {}
        counter other {}
        chain input {
          type filter hook input priority 0;
          tcp dport ${synPort} tcp flags syn numgen inc mod 2 == 0 counter name "mine" drop
          tcp dport ${otherPort} tcp flags syn numgen inc mod 2 == 0 counter name "other" drop
        }
      }`);
      // A listener older than the capture: its owner is learnt when it accepts.
      server.listen(listenPort, net.hostAddress);
      await once(server, 'listening');
      const nsConnect = () => {
        const client = net.spawn([
          'node',
          '-e',
          `const s = require('net').connect(${listenPort}, '${net.hostAddress}', () => console.log(s.localAddress + ':' + s.localPort)); s.on('error', () => {});`,
        ]);
        return once(client.stdout!, 'data').then(([chunk]) => String(chunk).trim());
      };

      const { result } = await captureDuring(
        async () => {
          const accepted = once(server, 'connection');
          await nsConnect();
          await accepted;
          // Now the namespace's ACKs to listenPort are dropped: the next
          // handshake's SYN-ACK is sent again.
          net.nft(`table inet tcpretrans_acks {
            counter acks {}
            chain output {
              type filter hook output priority 0;
              tcp dport ${listenPort} tcp flags & (syn | ack) == ack counter name "acks" drop
            }
          }`);
          const clientLine = nsConnect().then((line) => (handshake = line));

          // Another process (not in the target) through the same kind of rule.
          const started = Date.now();
          const child = spawn(
            process.execPath,
            [
              '-e',
              `const s = require('net').connect(${otherPort}, '${net.peerAddress}', () => { console.log(s.localAddress + ':' + s.localPort); s.destroy(); });
             s.on('error', () => process.exit(2)); setTimeout(() => process.exit(3), 5000).unref();`,
            ],
            { stdio: ['ignore', 'pipe', 'ignore'] },
          );
          const childDone = (async () => {
            const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
            other.local = chunk.toString().trim();
            [other.code] = (await once(child, 'exit')) as [number | null];
            other.ms = Date.now() - started;
          })();

          const socket = await connectTo(net.peerAddress, synPort);
          mine = `${socket.localAddress}:${socket.localPort}`;
          socket.destroy();
          await Promise.all([childDone, clientLine]);
          // The first SYN-ACK retransmit is due 1 s after the handshake's SYN-ACK.
          const until = Date.now() + 5000;
          while (nftCounter(net, 'tcpretrans_acks', 'acks') < 2 && Date.now() < until) await sleep(100);
        },
        { target: { pid: [process.pid] } },
      );

      expect(result.target).toBe(`pid ${process.pid}`);
      const synDrops = nftCounter(net, 'tcpretrans_filter', 'mine');
      expect(synDrops).toBeGreaterThan(0);
      const synRows = flowRows(result.rows, mine, `${net.peerAddress}:${synPort}`);
      expect(synRows).toHaveLength(1);
      expect(synRows[0]).toMatchObject({ state: 'SYN_SENT', type: 'segment', pid: process.pid, comm: myComm });
      expect(synRows[0]!.retransmits).toBe(synDrops);

      // The other process's SYN was dropped and sent again too, but it is not the target.
      expect(other.code).toBe(0);
      expect(nftCounter(net, 'tcpretrans_filter', 'other')).toBeGreaterThan(0);
      expect(other.ms).toBeGreaterThan(900);
      expect(result.rows.filter((r) => r.remote === `${net.peerAddress}:${otherPort}`)).toEqual([]);
      expect(result.rows.every((r) => r.pid === process.pid)).toBe(true);

      // The SYN-ACK, sent again by the listener this process owns (learnt at accept()).
      const acksDropped = nftCounter(net, 'tcpretrans_acks', 'acks');
      expect(acksDropped).toBeGreaterThanOrEqual(2); // the handshake's ACK, then the ACK of the resent SYN-ACK
      const synackRows = flowRows(result.rows, `${net.hostAddress}:${listenPort}`, handshake);
      expect(synackRows, `rows: ${JSON.stringify(result.rows)}; handshake ${handshake}`).toHaveLength(1);
      expect(synackRows[0]).toMatchObject({ state: 'SYN_RECV', type: 'synack', pid: process.pid, comm: myComm });
      expect(synackRows[0]!.retransmits).toBeGreaterThanOrEqual(1);
      expect(synackRows[0]!.retransmits).toBeLessThanOrEqual(acksDropped - 1);
    } finally {
      server.close();
      net.destroy();
    }
  });

  it('an MTU black hole: packets over 1,400 bytes dropped, so the handshake passes and each full-size segment times out again and again', async () => {
    const net = createTestNetwork();
    const port = 18_083;
    try {
      await net.listen(port);
      net.nft(`table inet tcpretrans_mtu {
        counter big {}
        chain input {
          type filter hook input priority 0;
          tcp dport ${port} meta length > 1400 counter name "big" drop
        }
      }`);
      let local = '';
      const { result } = await captureDuring(async () => {
        const socket = await connectTo(net.peerAddress, port);
        local = `${socket.localAddress}:${socket.localPort}`;
        socket.write('hello\n'); // small: it passes
        await sleep(100);
        socket.write(Buffer.alloc(20_000, 0x61));
        await sleep(3300); // timeouts after ~0.2, 0.6, 1.4 and 3 s
        socket.destroy();
      });
      const [row] = flowRows(result.rows, local, `${net.peerAddress}:${port}`);
      expect(row).toMatchObject({ state: 'ESTABLISHED', type: 'segment', pid: process.pid, pmtu: 1500 });
      expect(row!.retransmits).toBeGreaterThanOrEqual(3);
      expect(row!.fullSize).toBe(row!.retransmits);
      expect(row!.mss).toBeGreaterThan(1400 - 52);
      expect(row!.maxTimeouts).toBeGreaterThanOrEqual(3);
      expect(nftCounter(net, 'tcpretrans_mtu', 'big')).toBeGreaterThan(row!.retransmits);
      const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
      const hole = findings.find((f) => f.evidence.endpoint === `${net.peerAddress}:${port}`);
      expect(hole?.title).toMatch(new RegExp(`^TCP from .* to ${net.peerAddress.replace(/\./g, '\\.')}:${port} stalled on full-size segments`));
      expect(hole?.title).toContain(`ping -M do -s 1472 ${net.peerAddress}`);
    } finally {
      net.destroy();
    }
  });
});
