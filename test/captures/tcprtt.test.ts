// tcprtt against the real kernel: transfers this test makes with a namespace
// yield srtt histograms under their remote endpoint, with plausible values;
// a token bucket in the namespace that makes a queue shows as a higher RTT;
// a pid target keeps only that process's sockets.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { LabeledHistogram } from '../../src/captures/capture.js';
import { tcprtt } from '../../src/captures/tcprtt/index.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';

const skip = kernelSkipReason();

const captureDuring = (during: () => Promise<void>, request: CaptureAroundOptions = {}) => captureAround(tcprtt, during, request);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Downloads everything a net.listen(port, { sendBytes }) server sends; returns our "ip:port" and the byte count. */
async function download(host: string, port: number, timeoutMs: number): Promise<{ local: string; bytes: number }> {
  const socket: Socket = connect({ host, port });
  await once(socket, 'connect');
  const local = `${socket.localAddress}:${socket.localPort}`;
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const timer = setTimeout(() => socket.destroy(new Error(`download from ${host}:${port} took over ${timeoutMs} ms`)), timeoutMs);
  try {
    await once(socket, 'end');
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
  return { local, bytes };
}

/** Uploads `bytes` in 64 KiB writes, bounded by `timeoutMs`; returns the remote "ip:port". */
async function upload(host: string, port: number, bytes: number, timeoutMs: number): Promise<string> {
  const socket: Socket = connect({ host, port });
  await once(socket, 'connect');
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const end = Date.now() + timeoutMs;
  for (let sent = 0; sent < bytes && Date.now() < end; sent += chunk.length) {
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), sleep(Math.max(0, end - Date.now()))]);
  }
  socket.end();
  await once(socket, 'close');
  return `${host}:${port}`;
}

/** The namespace's end of the veth pair. */
function peerInterface(net: TestNetwork): string {
  const links = net.exec(['ip', '-o', 'link', 'show']);
  const name = [...links.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]!).find((n) => n !== 'lo');
  if (!name) throw new Error(`no veth in ${net.name}: ${links}`);
  return name;
}

const find = (histograms: LabeledHistogram[], remote: string) => histograms.find((h) => h.labels.remote === remote)?.histogram;
const mean = (h: { sum: number; count: number }) => h.sum / h.count;

describe.skipIf(skip)(`tcprtt on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('gives each remote a µs histogram; a token-bucket queue in the namespace raises it', async () => {
    const net = createTestNetwork();
    const plainPort = 18_101;
    const shapedPort = 18_102;
    const bytes = 2 << 20;
    // 20 Mbit/s with room for 50 ms of queue: the sender fills it.
    const rateBits = 20e6;
    const queueMs = 50;
    try {
      await net.listen(plainPort, { sendBytes: bytes });
      await net.listen(shapedPort, { sendBytes: bytes });
      const veth = peerInterface(net);
      let plain = { local: '', bytes: 0 };
      let shaped = { local: '', bytes: 0 };
      const { result, programIds } = await captureDuring(async () => {
        plain = await download(net.peerAddress, plainPort, 10_000);
        net.exec(['tc', 'qdisc', 'add', 'dev', veth, 'root', 'tbf', 'rate', String(rateBits), 'burst', '16kb', 'latency', `${queueMs}ms`]);
        shaped = await download(net.peerAddress, shapedPort, 15_000);
      });
      expect(stillLoaded(programIds)).toEqual([]);
      expect(plain.bytes).toBe(bytes);
      expect(shaped.bytes).toBe(bytes);

      // The namespace's sending sockets, by their remote: this process's ends.
      const fast = find(result.histograms, plain.local);
      const slow = find(result.histograms, shaped.local);
      expect(fast?.count).toBeGreaterThan(0);
      expect(slow?.count).toBeGreaterThan(0);
      for (const h of [fast!, slow!]) {
        expect(h.unit).toBe('usecs');
        expect(h.buckets.reduce((a, b) => a + b.count, 0)).toBe(h.count);
        expect(mean(h)).toBeGreaterThan(0);
        expect(h.buckets.at(-1)!.high).toBeLessThanOrEqual(2 ** 20); // under ~1 s
      }
      // A veth hop without a queue: well under a millisecond or two.
      expect(fast!.p50).toBeLessThanOrEqual(4096);
      // Through the bucket: most samples wait in its queue, up to queueMs.
      expect(slow!.p90).toBeGreaterThanOrEqual((queueMs * 1000) / 8);
      expect(mean(slow!)).toBeGreaterThan(5 * mean(fast!));
      // The overall histogram holds every sample, these included.
      expect(result.overall.count).toBeGreaterThanOrEqual(fast!.count + slow!.count);
      expect(result.drops.map_full ?? 0).toBe(0);
    } finally {
      net.destroy();
    }
  });

  it('with a pid target: only this process’s sockets; groupBy remoteAddr drops the port', async () => {
    const net = createTestNetwork();
    const sinkPort = 18_103;
    const sourcePort = 18_104;
    try {
      await net.listen(sinkPort);
      await net.listen(sourcePort, { sendBytes: 2 << 20 });
      let source = { local: '', bytes: 0 };
      const { result } = await captureDuring(
        async () => {
          // Ours: an upload (this process's socket has data in flight).
          // Theirs: a download (the namespace's server socket sends).
          [, source] = await Promise.all([upload(net.peerAddress, sinkPort, 2 << 20, 10_000), download(net.peerAddress, sourcePort, 10_000)]);
        },
        { target: { pid: [process.pid] }, params: { groupBy: 'remoteAddr' } },
      );
      expect(source.bytes).toBe(2 << 20);
      const ours = find(result.histograms, net.peerAddress);
      expect(ours?.count).toBeGreaterThan(0);
      expect(ours!.p50).toBeLessThanOrEqual(1 << 20);
      // The namespace server's socket (remote: this host) is not the target's.
      expect(find(result.histograms, net.hostAddress)).toBeUndefined();
      expect(result.histograms.every((h) => !String(h.labels.remote).includes(':'))).toBe(true);
      expect(source.local).not.toBe('');
    } finally {
      net.destroy();
    }
  });
});
