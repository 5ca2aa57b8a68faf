// A report download's memory is bounded by settings, not by the run: a stored
// run with a ~20 MB profile, ~20 MB of events and a 48 MB incompressible raw
// file is downloaded over real HTTP from an API set to keep at most 1 MiB of a
// result's JSON parsed (load.reportParseMiB: 1). The report service says what
// drawing held at most; the page still counts every stack and event. A client
// that stops reading (paused socket) stops the API's reads from Redis: what
// Redis sends is bounded by socket buffers, not by the run's 70 MB.
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureSummary } from '../../src/model/run.js';
import { FLAME_DIGEST_BYTES } from '../../src/report/html/flame.js';
import { putArtifact } from '../../src/redis/artifacts.js';
import type { RedisClient } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { RunStore } from '../../src/runs/store.js';
import { redisServerChildren } from '../helpers/redis.js';
import { RETENTION_SECONDS, sleep, startStack, waitFor, type Stack } from './harness.js';

const NODE = 'mem-node';
const MiB = 1024 * 1024;
const STACKS = 6_000;
const EVENTS = 60_000;
const RAW_BYTES = 48 * MiB;

const meta = (capture: string, kind: string, startedAt: string) => ({
  capture,
  kind,
  target: 'all processes',
  startedAt,
  durationMs: 1000,
  requestedDurationMs: 1000,
  cancelled: false,
  dropped: 0,
  drops: {},
  partialReads: 0,
  bpfCpuNs: 0,
  bpfRunCount: 0,
  bounds: {},
  timings: { openMs: 0, loadMs: 0, attachMs: 0 },
});

/** A completed run: profile (STACKS stacks of ~30 frames, the heaviest first), execsnoop (EVENTS events) and a raw file of random bytes. */
async function storeLargeRun(conn: RedisClient): Promise<{ id: string; storedBytes: number; profileBytes: number }> {
  const store = new RunStore(conn, { retentionSeconds: RETENTION_SECONDS });
  const id = randomUUID();
  const startedAt = new Date(Date.now() - 30_000).toISOString();
  await store.create(
    id,
    { steps: ['profile', 'execsnoop'].map((capture) => ({ capture, params: {} })), durationMs: 1000, target: {}, nodes: [NODE] },
    'test',
    new Date(Date.now() - 31_000),
  );
  const names = Array.from({ length: 2000 }, (_, i) => `app::module${i % 37}::Function${i}<std::string>::operator()`);
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const stacks = Array.from({ length: STACKS }, (_, i) => ({
    pid: 100 + (i % 5),
    comm: `svc${i % 5}`,
    value: Math.max(1, STACKS - i),
    frames: Array.from({ length: 30 }, (_, d) => ({ name: d < 3 ? names[d]! : names[next(names.length)]!, kind: 'user', module: 'app', offset: 4096 + d })),
  }));
  const profile = {
    ...meta('profile', 'stacks', startedAt),
    stacks,
    sampleType: { type: 'samples', unit: 'count' },
    periodNs: 10_101_010,
    total: stacks.reduce((a, s) => a + s.value, 0),
    lostStacks: { kernel: 0, user: 0 },
    top: 20,
  };
  const events = Array.from({ length: EVENTS }, (_, i) => ({
    time: startedAt,
    pid: 10_000 + i,
    ppid: 1,
    uid: 0,
    comm: 'sh',
    filename: '/bin/sh',
    argv: ['/bin/sh', '-c', `echo ${'x'.repeat(200)} ${i}`],
    retval: 0,
  }));
  const execsnoop = { ...meta('execsnoop', 'events', startedAt), events };
  const put = (name: string, contentType: string, content: string | Buffer) =>
    putArtifact(conn, { runId: id, node: NODE, name, contentType, ttlSeconds: RETENTION_SECONDS }, content);
  const profileMeta = await put('profile.json', 'application/json', JSON.stringify(profile));
  const raw = await put('profile.pb.gz', 'application/octet-stream', randomBytes(RAW_BYTES));
  const execMeta = await put('execsnoop.json', 'application/json', JSON.stringify(execsnoop));
  const summary = (capture: string, kind: CaptureSummary['kind'], count: number, bytes: number, files: string[]): CaptureSummary => ({
    capture,
    kind,
    count,
    dropped: 0,
    bpfCpuNs: 0,
    durationMs: 1000,
    cancelled: false,
    artifact: `${capture}.json`,
    bytes,
    files,
  });
  await store.setNodeState(id, NODE, {
    status: 'completed',
    kernel: 'test',
    startedAt,
    finishedAt: new Date().toISOString(),
    captures: [summary('profile', 'stacks', STACKS, profileMeta.bytes, ['profile.pb.gz']), summary('execsnoop', 'events', EVENTS, execMeta.bytes, [])],
  });
  await conn.hset(keys.run(id), { status: 'completed', startedAt, finishedAt: new Date().toISOString() });
  return { id, storedBytes: profileMeta.storedBytes + raw.storedBytes + execMeta.storedBytes, profileBytes: profileMeta.bytes };
}

/** Bytes Redis has sent to its clients so far. */
async function redisSent(conn: RedisClient): Promise<number> {
  const info = (await conn.info('stats')) as string;
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? NaN);
}

describe('report download memory', () => {
  let stack: Stack;
  let dir: string;
  let run: Awaited<ReturnType<typeof storeLargeRun>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-download-memory-'));
    const configFile = join(dir, 'sherlock.yaml');
    writeFileSync(configFile, 'load:\n  reportParseMiB: 1\n  reportSpoolMiB: 1\n', { mode: 0o600 });
    stack = await startStack([], { configFile });
    run = await storeLargeRun(stack.conn);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  it('draws the page of a large run within the parse budget, counting every stack and event', async () => {
    expect(run.profileBytes).toBeGreaterThan(15 * MiB); // parsed whole it would be 15× the budget
    const res = await fetch(`${stack.api.url}/v1/runs/${run.id}/report`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(res.status).toBe(200);
    // Only report.html is kept; every other entry is read and let go.
    const extract = tar.extract();
    const gunzip = createGunzip();
    Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)
      .pipe(gunzip)
      .pipe(extract as unknown as NodeJS.WritableStream);
    let html = '';
    let entries = 0;
    for await (const entry of extract) {
      entries++;
      const parts: Buffer[] = [];
      for await (const chunk of entry) if (entry.header.name.endsWith('/report.html')) parts.push(chunk as Buffer);
      if (parts.length) html = Buffer.concat(parts).toString();
    }
    expect(entries).toBeGreaterThan(5);
    const held = stack.api.reports.memory();
    expect(held.keptBytes).toBeGreaterThan(0);
    expect(held.keptBytes).toBeLessThanOrEqual(MiB);
    expect(held.largestText).toBeLessThanOrEqual(MiB);
    // A stacks result weighs its kept JSON and its flame digest; heavier than the gate, it is drawn alone.
    expect(held.gateHeld).toBeLessThanOrEqual(Math.max(held.gateBudget, MiB + FLAME_DIGEST_BYTES));
    expect(held.spoolBytes).toBeLessThanOrEqual(MiB);
    // The page counts the whole arrays although it kept only their first rows.
    expect(html).toContain(`Showing the first 300 of ${EVENTS.toLocaleString('en-US')} rows`);
    expect(html).toContain(`in ${STACKS} stacks`); // the flame graph's total: every stack was folded in
    expect(html).toContain('Heaviest functions (by self time)');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  }, 120_000);

  it('reads no further from Redis while its client does not read (a paused socket)', async () => {
    expect(run.storedBytes).toBeGreaterThan(RAW_BYTES);
    const before = await redisSent(stack.conn);
    const req = request(`${stack.api.url}/v1/runs/${run.id}/report`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject).end());
    try {
      expect(res.statusCode).toBe(200);
      res.pause(); // the socket fills, then the API must stop
      let received = 0;
      res.on('data', (c: Buffer) => (received += c.length));
      // Wait until what Redis sends stops growing (the API is blocked on the socket), bounded.
      let last = -1;
      const sent = await waitFor(
        'the API to stop reading Redis',
        async () => {
          await sleep(500);
          const now = (await redisSent(stack.conn)) - before;
          const settled = last >= 0 && now - last < 256 * 1024; // the API's own polling still talks to Redis a little
          last = now;
          return settled ? now : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 0 },
      );
      expect(received).toBe(0);
      // Socket buffers on both sides (a few MB on loopback) and a slice or two per stage, not the run.
      expect(sent).toBeLessThan(24 * MiB);
      expect(sent).toBeLessThan(run.storedBytes / 2);
      expect(stack.api.reports.slots.active).toBe(1);
    } finally {
      res.destroy();
      req.destroy();
    }
    await waitFor('the slot back', async () => stack.api.reports.slots.active === 0, { timeoutMs: 10_000, intervalMs: 50 });
  }, 120_000);
});
