// tcpflow against the real kernel: a download through a token bucket in a
// namespace this test makes is the server's transfer held by the network at
// the bucket's rate (and ours received it, owners named); an upload to a
// reader with a tiny receive buffer that reads slowly is held by its receive
// window; a pid target keeps only this process's connections.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpflow, type FlowRow } from '../../src/captures/tcpflow/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';

const skip = kernelSkipReason();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const held = (f: FlowRow) => f.networkSeconds + f.rwndSeconds + f.sndbufSeconds;

/** A server in the namespace that sends `bytes` to each client and keeps the connection open until the client closes. */
async function sender(net: TestNetwork, port: number, bytes: number) {
  const script = `
    const net = require('net');
    const payload = Buffer.alloc(${bytes}, 120);
    net.createServer((s) => { s.on('error', () => {}); s.resume(); s.write(payload); s.on('end', () => s.destroy()); })
      .listen(${port}, '${net.peerAddress}', () => console.log('listening'));`;
  const child = net.spawn(['node', '-e', script]);
  await once(child.stdout!, 'data');
  return child;
}

/** A reader in the namespace with a receive buffer of a few KiB that takes 4 KiB every 10 ms. */
async function slowReader(net: TestNetwork, port: number) {
  const script = `
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("${net.peerAddress}", ${port})); s.listen(1); print("listening", flush=True)
c, _ = s.accept()
while c.recv(4096):
    time.sleep(0.01)
`;
  const child = net.spawn(['/usr/bin/python3', '-c', script]);
  await once(child.stdout!, 'data');
  return child;
}

/** Reads `bytes` from host:port and leaves the connection open (the caller closes it). */
async function download(host: string, port: number, bytes: number, timeoutMs: number): Promise<Socket> {
  const socket = connect({ host, port });
  await once(socket, 'connect');
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`download from ${host}:${port}: ${got} of ${bytes} bytes in ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= bytes) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return socket;
}

/** Writes to host:port for `ms`, keeping the connection open (the caller closes it). */
async function uploadFor(host: string, port: number, ms: number): Promise<Socket> {
  const socket = connect({ host, port });
  await once(socket, 'connect');
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), sleep(Math.max(0, end - Date.now()))]);
  }
  return socket;
}

const endpoint = (s: Socket) => `${s.localAddress}:${s.localPort}`;

describe.skipIf(skip)(`tcpflow on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it("a download through a token bucket: the server's connection held by the network at the bucket's rate, ours received it", async () => {
    const net = createTestNetwork();
    const port = 18_111;
    const bytes = 3 << 20;
    const rateBytes = 2.5e6; // 20 Mbit/s
    const sockets: Socket[] = [];
    try {
      const server = await sender(net, port, bytes);
      const veth = net.exec(['ip', '-o', 'link', 'show']).match(/^\d+:\s+([^:@\s]+)@/m)![1]!;
      net.exec(['tc', 'qdisc', 'add', 'dev', veth, 'root', 'tbf', 'rate', String(rateBytes * 8), 'burst', '16kb', 'latency', '50ms']);
      const { result, programIds } = await captureAround(tcpflow, async () => void sockets.push(await download(net.peerAddress, port, bytes, 15_000)));
      expect(stillLoaded(programIds)).toEqual([]);
      const ours = endpoint(sockets[0]!);
      const sent = result.flows.find((f) => f.remote === ours);
      const received = result.flows.find((f) => f.local === ours);
      expect(sent, JSON.stringify(result.flows)).toBeDefined();
      expect(received).toBeDefined();
      // The first probe comes with the first ACK: all but the first flight counts.
      expect(sent!.sentBytes).toBeGreaterThan(bytes * 0.8);
      expect(sent!.sentBytes).toBeLessThanOrEqual(bytes);
      expect(received!.receivedBytes).toBeGreaterThan(bytes * 0.8);
      expect(received!.receivedBytes).toBeLessThanOrEqual(bytes);
      // The receiver's own RTT estimate, read while data came in.
      expect(received!.rcvRttSamples).toBeGreaterThan(0);
      expect(received!.rcvRttAvgUs).toBeGreaterThan(0);
      // Held by the network (the bucket), not the reader's window nor its buffer; at about the bucket's rate.
      expect(sent!.networkSeconds).toBeGreaterThan(held(sent!) * 0.6);
      expect(sent!.sentBytes / held(sent!)).toBeGreaterThan(rateBytes * 0.5);
      expect(sent!.sentBytes / held(sent!)).toBeLessThan(rateBytes * 1.5);
      expect(sent!.minRttUs).toBeGreaterThan(0);
      expect(sent!.srttSamples).toBeGreaterThan(0);
      // Owners, by socket inode.
      expect(sent!.pid).toBe(server.pid);
      expect(received!.pid).toBe(process.pid);
      expect(received!.comm).toBe('node');
    } finally {
      for (const s of sockets) s.destroy();
      net.destroy();
    }
  });

  it("an upload to a slow reader with a tiny receive buffer: held by the peer's receive window; a pid target keeps only ours", async () => {
    const net = createTestNetwork();
    const port = 18_112;
    const sockets: Socket[] = [];
    try {
      await slowReader(net, port);
      const { result } = await captureAround(tcpflow, async () => void sockets.push(await uploadFor(net.peerAddress, port, 1500)), {
        target: { pid: [process.pid] },
        params: { minBytes: 16 * 1024 },
      });
      const ours = endpoint(sockets[0]!);
      const upload = result.flows.find((f) => f.local === ours);
      expect(upload, JSON.stringify(result.flows)).toBeDefined();
      expect(upload!.sentBytes).toBeGreaterThan(0);
      expect(upload!.rwndSeconds).toBeGreaterThan(held(upload!) * 0.5);
      expect(upload!.rwndSeconds).toBeGreaterThan(0.5);
      expect(upload!.peerWindowBytes).toBeLessThan(64 * 1024);
      // The reader's end is in the namespace, not this process's: left out by the target.
      expect(result.flows.every((f) => f.pid === process.pid)).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      net.destroy();
    }
  });
});
