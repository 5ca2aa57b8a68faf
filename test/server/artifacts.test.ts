// Stored results: artifacts gzip-compressed in Redis, chunked past 4 MiB,
// expiring with the run; and a node whose capture fails makes a failed run
// that says why.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { CHUNK_BYTES, putArtifact } from '../../src/redis/artifacts.js';
import { bpfHandlesOf } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, RETENTION_SECONDS, startStack, type Stack } from './harness.js';

const SINK = 'sink-node';
const WORKER = 'failing-node';

describe('artifacts and failed captures', () => {
  let stack: Stack;
  let beats: RedisClient;
  let sink: ReturnType<typeof fakeNode>;

  beforeAll(async () => {
    stack = await startStack([WORKER]);
    beats = connectRedis(stack.redis.url, 'test-heartbeats');
    sink = fakeNode(beats, SINK);
    await sink.ready;
  });

  afterAll(async () => {
    sink?.stop();
    beats?.disconnect();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('stores a large artifact gzip-compressed in 4 MiB chunks with the run’s TTL, and streams it back whole', async () => {
    const { admin, conn } = stack;
    const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: [SINK] } });
    // Incompressible content: 9 MiB of hex stays > 2 chunks after gzip.
    const content = JSON.stringify({ blob: randomBytes(4.5 * 1024 * 1024).toString('hex') });
    const meta = await putArtifact(conn, { runId: id, node: SINK, name: 'big.json', contentType: 'application/json', ttlSeconds: RETENTION_SECONDS }, content);
    expect(meta.bytes).toBe(Buffer.byteLength(content));
    expect(meta.storedBytes).toBeLessThan(meta.bytes);
    expect(meta.chunks).toBe(Math.ceil(meta.storedBytes / CHUNK_BYTES));
    expect(meta.chunks).toBeGreaterThanOrEqual(2);

    const base = keys.artifact(id, SINK, 'big.json');
    for (const key of [base, ...Array.from({ length: meta.chunks }, (_, i) => `${base}:${i}`)]) {
      const ttl = await conn.ttl(key);
      expect(ttl, key).toBeGreaterThan(RETENTION_SECONDS - 60);
      expect(ttl, key).toBeLessThanOrEqual(RETENTION_SECONDS);
    }
    const firstChunk = await conn.getBuffer(`${base}:0`);
    expect(firstChunk!.length).toBe(CHUNK_BYTES);
    expect(firstChunk!.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip magic

    // The run's own keys expire with the retention too.
    expect(await conn.ttl(keys.run(id))).toBeGreaterThan(RETENTION_SECONDS - 60);
    expect(await conn.ttl(keys.runEvents(id))).toBeGreaterThan(RETENTION_SECONDS - 60);

    const res = await fetch(`${admin.baseUrl}/v1/runs/${id}/nodes/${SINK}/artifacts/big.json`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const text = await res.text(); // fetch gunzips
    expect(text.length).toBe(content.length);
    expect(text === content).toBe(true);

    // An artifact whose chunk expired mid-way fails the download rather than sending a truncated body as whole.
    await conn.del(`${base}:1`);
    const broken = await fetch(`${admin.baseUrl}/v1/runs/${id}/nodes/${SINK}/artifacts/big.json`, { headers: { authorization: `Bearer ${admin.token}` } });
    await expect(broken.text().then((t) => t === content)).rejects.toThrow();
  }, 30_000);

  it('fails the node, and the run, when its capture cannot run; the worker takes the next run', async () => {
    const { admin } = stack;
    const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', target: { pid: [2 ** 22 + 12_345] }, targets: { nodes: [WORKER] } });
    const run = await admin.waitFinal(id, 10_000);
    expect(run.status).toBe('failed');
    const node = run.nodes[WORKER]!;
    expect(node.status).toBe('failed');
    expect(node.error).toMatch(/^execsnoop: .*pid 4206649/);
    expect(node.captures![0]).toMatchObject({ capture: 'execsnoop', count: 0, error: expect.stringContaining('4206649') });
    expect(node.captures![0]!.artifact).toBeUndefined();

    const events = (await stack.conn.xrange(keys.runEvents(id), '-', '+')).map(([, f]) => JSON.parse(f[1]!));
    expect(events.map((e) => e.type)).toEqual(['run-queued', 'node-started', 'node-finished', 'run-finished']);
    expect(events[2]).toMatchObject({ node: WORKER, status: 'failed' });
    expect(events[3]).toMatchObject({ status: 'failed' });

    const next = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', target: { pid: [2 ** 22 + 12_346] }, targets: { nodes: [WORKER] } });
    expect((await admin.waitFinal(next, 10_000)).status).toBe('failed');
    const metrics = (await admin.get('/metrics')).text;
    expect(metrics).toContain('sherlock_runs_total{runbook="ad-hoc",status="failed"} 2');
  }, 30_000);
});
