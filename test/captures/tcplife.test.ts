// tcplife against the real kernel: a connection this test makes to a server
// in a test namespace that sends a known byte count, while the test sends a
// known count back, must appear once from each end with the right endpoints,
// owner, duration and payload bytes (headers, SYN and FIN excluded); a
// connect to a closed port appears as a connection that never established,
// with ECONNREFUSED; filters must hold. Nothing may stay loaded afterwards.
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { tcplife, type TcpConnection } from '../../src/captures/tcplife/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createTestNetwork } from '../helpers/netns.js';

const skip = kernelSkipReason();
const PORT = 8445;
const CLOSED_PORT = 8446;
const SERVER_BYTES = 1_000_000;
const CLIENT_BYTES = 123_457;
const myComm = readFileSync('/proc/self/comm', 'utf8').trim();

const captureDuring = (during: () => Promise<void>, request: CaptureAroundOptions = {}) =>
  captureAround(tcplife, during, { durationMs: 60_000, settleMs: 100, ...request });

/** Connects, sends `send` bytes, reads until the server closes; resolves once the socket is closed. */
function exchange(host: string, port: number, send: number): Promise<{ localPort: number; localAddress: string; received: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = 0;
    let local = { localPort: 0, localAddress: '' };
    const timer = setTimeout(() => socket.destroy(new Error('exchange timed out')), 10_000);
    socket.once('connect', () => {
      local = { localPort: socket.localPort!, localAddress: socket.localAddress! };
      socket.end(Buffer.alloc(send, 7));
    });
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ ...local, received });
    });
  });
}

function refusedConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.once('connect', () => resolve('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? 'error');
    });
  });
}

/** A loopback server in this process: reads everything, sends `bytes`, closes. */
async function localServer(host: string, bytes: number): Promise<Server> {
  const server = createServer((s) => {
    s.resume();
    s.on('error', () => {});
    s.end(Buffer.alloc(bytes, 9));
  });
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

const find = (events: TcpConnection[], local: string, remote: string) => events.filter((e) => e.local === local && e.remote === remote);

/** Payload within 2 bytes of truth (it should be exact; SYN and FIN are taken out). */
const near = (actual: number | undefined, expected: number) => {
  expect(actual).toBeGreaterThanOrEqual(expected - 2);
  expect(actual).toBeLessThanOrEqual(expected + 2);
};

describe.skipIf(skip)(`tcplife on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('reports a connection from both ends with endpoints, owner, duration and payload bytes, and a refused connect', async () => {
    const net = createTestNetwork();
    try {
      const listener = await net.listen(PORT, { sendBytes: SERVER_BYTES });
      let client!: { localPort: number; localAddress: string; received: number };
      let refused = '';
      const { result, programIds } = await captureDuring(async () => {
        client = await exchange(net.peerAddress, PORT, CLIENT_BYTES);
        refused = await refusedConnect(net.peerAddress, CLOSED_PORT);
      });
      expect(stillLoaded(programIds)).toEqual([]);
      expect(result.dropped).toBe(0);
      expect(client.received).toBe(SERVER_BYTES);
      expect(client.localAddress).toBe(net.hostAddress);
      expect(refused).toBe('ECONNREFUSED');
      const missed = result.missedRuns;
      if (missed) console.warn(`tcplife: the kernel skipped ${missed} runs (recursion_misses)`);

      const clientEnd = `${net.hostAddress}:${client.localPort}`;
      const serverEnd = `${net.peerAddress}:${PORT}`;

      // Our end: opened by connect() in this process.
      const active = find(result.events, clientEnd, serverEnd);
      if (active.length || !missed) {
        expect(active).toHaveLength(1);
        expect(active[0]).toMatchObject({
          pid: process.pid,
          comm: myComm,
          ownerKnown: true,
          direction: 'active',
          established: true,
          ipVersion: 4,
        });
        expect(active[0]!.error).toBeUndefined();
        near(active[0]!.bytesReceived, client.received);
        near(active[0]!.bytesSent, CLIENT_BYTES);
        expect(active[0]!.durationMs).toBeGreaterThan(0);
        expect(active[0]!.durationMs).toBeLessThan(10_000);
      }

      // The server's end (accepted in the namespace): owned by the listener
      // process, named when its end() shut the socket down.
      const passive = find(result.events, serverEnd, clientEnd);
      if (passive.length || !missed) {
        expect(passive).toHaveLength(1);
        expect(passive[0]).toMatchObject({
          pid: listener.pid,
          comm: 'node',
          ownerKnown: true,
          direction: 'passive',
          established: true,
          ipVersion: 4,
        });
        near(passive[0]!.bytesSent, SERVER_BYTES);
        near(passive[0]!.bytesReceived, CLIENT_BYTES);
        expect(passive[0]!.durationMs).toBeGreaterThan(0);
      }

      // The closed port: a connect that never established, refused by a reset.
      const failed = result.events.filter((e) => e.remote === `${net.peerAddress}:${CLOSED_PORT}`);
      if (failed.length || !missed) {
        expect(failed).toHaveLength(1);
        expect(failed[0]).toMatchObject({
          pid: process.pid,
          direction: 'active',
          established: false,
          closedFrom: 'SYN_SENT',
          error: 'ECONNREFUSED',
          bytesSent: 0,
          bytesReceived: 0,
        });
        expect(failed[0]!.local).toMatch(new RegExp(`^${net.hostAddress.replace(/\./g, '\\.')}:\\d+$`));
      }
    } finally {
      net.destroy();
    }
  });

  it('a passive connection reset by its peer keeps pid 0, owner unknown, with ECONNRESET (no close() named its owner)', async () => {
    const accepted: Array<import('node:net').Socket> = [];
    const server = createServer((s) => {
      s.on('error', () => {});
      accepted.push(s); // held open: the server never calls close() or shutdown()
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      let localPort = 0;
      const { result } = await captureDuring(async () => {
        const client = connect({ host: '127.0.0.1', port });
        await once(client, 'connect');
        localPort = client.localPort!;
        while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
        client.resetAndDestroy(); // SO_LINGER 0: a reset instead of a FIN
        await once(client, 'close');
      });
      const clientEnd = `127.0.0.1:${localPort}`;
      const serverEnd = `127.0.0.1:${port}`;
      const passive = find(result.events, serverEnd, clientEnd);
      const active = find(result.events, clientEnd, serverEnd);
      if (!result.missedRuns) {
        expect(passive).toHaveLength(1);
        expect(active).toHaveLength(1);
      }
      for (const e of passive) {
        expect(e).toMatchObject({ pid: 0, ownerKnown: false, comm: '', direction: 'passive', established: true, error: 'ECONNRESET' });
        expect(
          tcplife
            .table(result)
            .columns.find((c) => c.header === 'PID')!
            .value(e),
        ).toBe('?');
      }
      for (const e of active) expect(e).toMatchObject({ pid: process.pid, ownerKnown: true, direction: 'active', established: true });
    } finally {
      for (const s of accepted) s.destroy();
      server.close();
    }
  });

  it('with a pid target, reports that process’s connections, both ends, over IPv4 and IPv6 loopback, and not the namespace server’s', async () => {
    const net = createTestNetwork();
    const hosts = ['127.0.0.1', ...(readFileSync('/proc/net/if_inet6', 'utf8').includes(' lo') ? ['::1'] : [])];
    const servers = await Promise.all(hosts.map((h) => localServer(h, 4321)));
    try {
      await net.listen(PORT, { sendBytes: 1000 });
      const clients: Array<{ host: string; port: number; localPort: number; received: number }> = [];
      let remote!: { localPort: number };
      const { result } = await captureDuring(
        async () => {
          for (const [i, server] of servers.entries()) {
            const port = (server.address() as { port: number }).port;
            clients.push({ host: hosts[i]!, port, ...(await exchange(hosts[i]!, port, 1234)) });
          }
          remote = await exchange(net.peerAddress, PORT, 10);
        },
        { target: { pid: [process.pid] } },
      );
      const missed = result.missedRuns;
      const text = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
      for (const c of clients) {
        const clientEnd = text(c.host, c.localPort);
        const serverEnd = text(c.host, c.port);
        const active = find(result.events, clientEnd, serverEnd);
        const passive = find(result.events, serverEnd, clientEnd);
        if (!missed) {
          expect(active, clientEnd).toHaveLength(1);
          expect(passive, serverEnd).toHaveLength(1);
        }
        for (const e of active) {
          expect(e).toMatchObject({ pid: process.pid, direction: 'active', ipVersion: c.host === '::1' ? 6 : 4 });
          near(e.bytesSent, 1234);
          near(e.bytesReceived, 4321);
        }
        // Accepted by this process's server: its close() names the owner.
        for (const e of passive) {
          expect(e).toMatchObject({ pid: process.pid, ownerKnown: true, direction: 'passive' });
          near(e.bytesSent, 4321);
          near(e.bytesReceived, 1234);
        }
      }
      // Our end of the namespace connection is ours; the server's end belongs to
      // the listener process, outside the target.
      const clientEnd = `${net.hostAddress}:${remote.localPort}`;
      const serverEnd = `${net.peerAddress}:${PORT}`;
      if (!missed) expect(find(result.events, clientEnd, serverEnd)).toHaveLength(1);
      expect(find(result.events, serverEnd, clientEnd)).toEqual([]);
      expect(result.events.every((e) => e.pid === process.pid)).toBe(true);
    } finally {
      for (const s of servers) s.close();
      net.destroy();
    }
  });

  it('rejects settings outside the schema before loading anything', async () => {
    await expect(runCapture(tcplife, { durationMs: 1000, params: { maxConnections: 1 } })).rejects.toThrow(/maxConnections/);
    await expect(runCapture(tcplife, { durationMs: 1000, params: { bogus: 1 } })).rejects.toThrow(/bogus/);
  });
});
