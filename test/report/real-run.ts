// A real run for the report tests: the API, Redis and an in-process worker
// (test/server/harness.ts), every result kind captured at once for two
// seconds while this process makes some of everything happen — execs, opens,
// TCP connects over loopback, file reads and writes, a CPU-bound child — so
// each capture has something to show.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execMarker, sleep, waitFor, type Stack } from '../server/harness.js';

/** One capture of each kind (events, stacks, histogram, counters), and then some. */
export const REPORT_CAPTURES = ['execsnoop', 'opensnoop', 'profile', 'tcpconnlat', 'tcpretrans', 'filetop', 'runqlat'] as const;

export interface RealRun {
  id: string;
  marker: string;
}

async function connectStorm(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.end('ping');
      });
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
  }
}

/** Submits the run on `node`, makes load while its captures are live, and waits for it to end. */
export async function realRun(stack: Stack, node: string): Promise<RealRun> {
  const marker = `sherlock-report-${randomUUID()}`;
  const server = net.createServer((s) => {
    s.on('data', () => {});
    s.on('end', () => s.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-report-load-'));
  try {
    const id = await stack.admin.submit({
      steps: REPORT_CAPTURES.map((capture) => ({ capture })),
      duration: '2s',
      targets: { nodes: [node] },
      reason: `report test ${marker}`,
    });
    await waitFor(
      'every capture live',
      async () => {
        const entries = await stack.conn.xrange(`{sherlock}:run:${id}:events`, '-', '+');
        return entries.map(([, f]) => JSON.parse(f[1]!) as { type: string }).filter((e) => e.type === 'capture-live').length === REPORT_CAPTURES.length;
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    // A CPU-bound child for the profile, execs, opens, connects, file I/O.
    const burn = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done'], { stdio: 'ignore' });
    const burned = new Promise<void>((resolve) => burn.once('exit', () => resolve()));
    for (let i = 0; i < 5; i++) await execMarker(`${marker}-${i}`);
    await connectStorm(port, 40);
    const file = join(dir, 'data.bin');
    for (let i = 0; i < 20; i++) {
      writeFileSync(file, Buffer.alloc(64 * 1024, i));
      readFileSync(file);
    }
    await Promise.race([burned, sleep(1500)]);
    if (burn.exitCode === null) burn.kill('SIGKILL');
    const run = await stack.admin.waitFinal(id, 20_000);
    if (run.status !== 'completed') throw new Error(`the run ended ${run.status}: ${JSON.stringify(run.nodes)}`);
    return { id, marker };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
