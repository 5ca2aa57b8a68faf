// The one artifact format (gzip, chunked past CHUNK_BYTES) written and read
// back through src/redis/artifacts.ts against a real Redis: whole, in batches,
// streamed, and every way a stored artifact can be unreadable.
import { pbkdf2, randomBytes, randomUUID } from 'node:crypto';
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import {
  artifactChunks,
  artifactMeta,
  CHUNK_BYTES,
  gunzipArtifact,
  gunzipChunks,
  putArtifact,
  readArtifact,
  readStoredArtifacts,
  READ_SLICE_BYTES,
  SYNC_GZIP_BYTES,
} from '../../src/redis/artifacts.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

describe('stored artifacts', () => {
  let redis: TestRedis;
  let conn: RedisClient;
  const runId = randomUUID();
  // Incompressible: 9 MiB of hex stays over one chunk after gzip.
  const big = JSON.stringify({ blob: randomBytes(4.5 * 1024 * 1024).toString('hex') });
  const small = JSON.stringify({ hello: 'world' });
  const put = (node: string, name: string, content: string) =>
    putArtifact(conn, { runId, node, name, contentType: 'application/json', ttlSeconds: 600 }, content);

  beforeAll(async () => {
    redis = await startTestRedis();
    conn = connectRedis(redis.url, 'test-artifacts');
    await put('n1', 'big.json', big);
    await put('n1', 'small.json', small);
    await put('n2', 'small.json', small);
  });

  afterAll(async () => {
    conn?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  it('reads what it wrote: whole, in a batch, and as a stream', async () => {
    const meta = (await artifactMeta(conn, runId, 'n1', 'big.json'))!;
    expect(meta.chunks).toBe(Math.ceil(meta.storedBytes / CHUNK_BYTES));
    expect(meta.chunks).toBeGreaterThanOrEqual(2); // chunk 0 in the first round trip, the rest in the second
    expect((await readArtifact(conn, runId, { node: 'n1', name: 'big.json' })).toString()).toBe(big);

    const batch = await readStoredArtifacts(conn, runId, [
      { node: 'n2', name: 'small.json' },
      { node: 'n1', name: 'big.json' },
      { node: 'n1', name: 'small.json' },
    ]);
    const texts = await Promise.all(batch.map(async (s) => ('meta' in s ? (await gunzipArtifact(s.gz)).toString() : s.why)));
    expect(texts).toEqual([small, big, small]);

    let streamed = '';
    let pieces = 0;
    await gunzipChunks(artifactChunks(conn, runId, 'n1', meta), (chunk) => {
      streamed += chunk.toString('latin1');
      pieces++;
    });
    expect(streamed).toBe(big);
    expect(pieces).toBeGreaterThan(meta.chunks); // gunzipped in small pieces, not whole

    // Read from Redis in slices of at most READ_SLICE_BYTES, never a whole chunk at once.
    const slices: number[] = [];
    for await (const slice of artifactChunks(conn, runId, 'n1', meta)) slices.push(slice.length);
    expect(Math.max(...slices)).toBeLessThanOrEqual(READ_SLICE_BYTES);
    expect(slices.reduce((a, b) => a + b, 0)).toBe(meta.storedBytes);
  }, 30_000);

  it('stores chunked content whole when it is small, streams it when not, and closes its source either way', async () => {
    const where = (name: string) => ({ runId, node: 'n3', name, contentType: 'application/x-ndjson', ttlSeconds: 600 });
    let closed = 0;
    function* lines(count: number, line: string): Generator<Buffer> {
      try {
        for (let i = 0; i < count; i++) yield Buffer.from(`${line}${i}\n`);
      } finally {
        closed++;
      }
    }
    const text = (count: number, line: string) => Array.from({ length: count }, (_, i) => `${line}${i}\n`).join('');

    const few = await putArtifact(conn, where('few.ndjson'), lines(3, 'a'));
    expect(few).toMatchObject({ bytes: text(3, 'a').length, chunks: 1 });
    expect((await readArtifact(conn, runId, { node: 'n3', name: 'few.ndjson' })).toString()).toBe(text(3, 'a'));

    // Past the synchronous gzip's share: streamed, every chunk of the source in order.
    const line = randomBytes(512).toString('hex');
    const count = Math.ceil((2 * SYNC_GZIP_BYTES) / line.length);
    const many = await putArtifact(conn, where('many.ndjson'), lines(count, line));
    expect(many.bytes).toBe(text(count, line).length);
    expect((await readArtifact(conn, runId, { node: 'n3', name: 'many.ndjson' })).toString()).toBe(text(count, line));
    expect(closed).toBe(2);

    // A store that fails part way (Redis gone) still closes its source (a spool's open file).
    const broken = connectRedis(redis.url, 'test-artifacts-broken');
    await new Promise((resolve) => broken.once('ready', resolve));
    broken.disconnect();
    await expect(putArtifact(broken, where('lost.ndjson'), lines(count, line))).rejects.toThrow();
    expect(closed).toBe(3);
  }, 30_000);

  it("stores a node's small results while libuv's thread pool is busy (probe detaches hold it on a worker)", async () => {
    // Queue more pool work than the pool has threads (4 by default), ~0.1 s each: an async gzip would wait for all of it.
    const tasks = 4 * (Number(process.env.UV_THREADPOOL_SIZE) || 4);
    let finished = 0;
    const busy = Array.from(
      { length: tasks },
      () => new Promise<void>((resolve) => pbkdf2('x', 'salt', 500_000, 32, 'sha256', () => resolve(void finished++))),
    );
    const stored = await putArtifact(conn, { runId, node: 'n4', name: 'small.json', contentType: 'application/json', ttlSeconds: 600 }, [Buffer.from(small)]);
    const finishedWhenStored = finished;
    await Promise.all(busy);
    expect(stored.bytes).toBe(small.length);
    expect(finishedWhenStored).toBeLessThan(tasks / 2); // behind the pool it would come after tasks - 4 or more
  }, 60_000);

  it('says why one cannot be read, and reads the others', async () => {
    await put('n3', 'big.json', big);
    await put('n3', 'corrupt.json', small);
    await put('n3', 'gone.json', small);
    await conn.del(`${keys.artifact(runId, 'n3', 'big.json')}:1`);
    await conn.set(keys.artifact(runId, 'n3', 'corrupt.json'), '{{');
    await conn.del(`${keys.artifact(runId, 'n3', 'gone.json')}:0`);
    const names = ['big.json', 'corrupt.json', 'gone.json', 'never.json', 'small.json'];
    const stored = await readStoredArtifacts(
      conn,
      runId,
      names.map((name) => ({ node: name === 'small.json' ? 'n2' : 'n3', name })),
    );
    expect(stored.map((s) => ('meta' in s ? 'ok' : s.why))).toEqual([
      'a chunk of it is missing (expired)',
      'its metadata is corrupt',
      'a chunk of it is missing (expired)',
      'it is missing (expired, or never stored)',
      'ok',
    ]);
    expect(stored[3]).toMatchObject({ missing: true });
    expect(await readArtifact(conn, runId, { node: 'n3', name: 'never.json' })).toBe('it is missing (expired, or never stored)');
  }, 30_000);

  it('skips an artifact by its meta without reading the rest of it', async () => {
    const stored = await readStoredArtifacts(
      conn,
      runId,
      [
        { node: 'n1', name: 'big.json' },
        { node: 'n1', name: 'small.json' },
      ],
      (meta) => (meta.chunks > 1 ? `it is in ${meta.chunks} chunks` : undefined),
    );
    expect('meta' in stored[0]! ? 'read' : stored[0]!.why).toMatch(/^it is in \d+ chunks$/);
    expect('meta' in stored[1]!).toBe(true);
  }, 30_000);
});
