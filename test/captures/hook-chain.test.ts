// Captures that attach to the same raw tracepoint run in one hook chain
// (src/libbpf/hook-chain.ts): one kernel link for the hook however many
// captures share it, and each capture still sees every event while others
// join and leave around it — a member from the middle, then the first one.
// Nothing may stay attached or loaded afterwards.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureDefinition, CaptureResult } from '../../src/captures/capture.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { tcpconnlat, type TcpconnlatData } from '../../src/captures/tcpconnlat/index.js';
import { tcplife, type TcplifeData } from '../../src/captures/tcplife/index.js';
import { hookChainMembers } from '../../src/libbpf/index.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';

const skip = kernelSkipReason();
const HOOK = 'inet_sock_set_state';

/** This process's raw tracepoint links on `hook` (fdinfo names the tracepoint). */
function rawTracepointLinks(hook: string): number {
  let links = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:bpf_link') continue;
      const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      if (/^link_type:\s+raw_tracepoint$/m.test(info) && new RegExp(`^tp_name:\\s+${hook}$`, 'm').test(info)) links++;
    } catch {
      // closed while we looked
    }
  }
  return links;
}

interface Running<D> {
  stop(): Promise<CaptureResult<D>>;
}

/** Starts a capture and resolves once its probes are live. */
async function start<D>(def: CaptureDefinition<any, D>): Promise<Running<D>> {
  const controller = new AbortController();
  let live = () => {};
  const isLive = new Promise<void>((resolve) => (live = resolve));
  const result = runCapture(def, { durationMs: 60_000, signal: controller.signal, onLive: () => live() });
  await Promise.race([isLive, result.then(() => Promise.reject(new Error(`${def.name} ended before it was live`)))]);
  running.push(controller);
  return {
    stop() {
      controller.abort();
      return result;
    },
  };
}
const running: AbortController[] = [];

async function connects(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.destroy();
  }
  await new Promise((resolve) => setTimeout(resolve, 150)); // both ends reach CLOSE
}

const timed = (data: TcpconnlatData, destination: string) => data.histograms.find((h) => h.labels.destination === destination)?.histogram.count ?? 0;
const ends = (data: TcplifeData, destination: string) =>
  data.events.filter((e) => e.pid === process.pid && (e.remote === destination || e.local === destination)).length;

describe.skipIf(skip)(`captures sharing a raw tracepoint${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: Server | undefined;

  afterEach(async () => {
    for (const controller of running.splice(0)) controller.abort();
    server?.close();
    server = undefined;
  });

  it('run from one link on the hook; each sees every connect while another leaves from the middle, then the first leaves', async () => {
    server = createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const destination = `127.0.0.1:${port}`;

    // One after another, so the chain's order is first, middle, last.
    const first = await start(tcpconnlat);
    const middle = await start(tcplife);
    const last = await start(tcpconnlat);
    const programIds = bpfHandlesOf().programIds;
    expect(hookChainMembers().get(HOOK)).toBe(3);
    expect(rawTracepointLinks(HOOK)).toBe(1);

    await connects(port, 20);
    const middleResult = await middle.stop();
    expect(hookChainMembers().get(HOOK)).toBe(2);
    await connects(port, 15);
    const firstResult = await first.stop();
    expect(hookChainMembers().get(HOOK)).toBe(1);
    await connects(port, 10);
    const lastResult = await last.stop();

    expect(ends(middleResult, destination)).toBe(2 * 20); // client and server end of each
    expect(timed(firstResult, destination)).toBe(20 + 15);
    expect(timed(lastResult, destination)).toBe(20 + 15 + 10);
    for (const result of [firstResult, middleResult, lastResult]) expect(result.dropped).toBe(0);

    expect(hookChainMembers().has(HOOK)).toBe(false);
    expect(rawTracepointLinks(HOOK)).toBe(0);
    expect(bpfHandlesOf().links).toBe(0);
    expect(stillLoaded(programIds)).toEqual([]);
  });
});
