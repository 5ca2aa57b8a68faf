// The one artifact format (gzip, chunked past CHUNK_BYTES) written and read
// back through src/redis/artifacts.ts against a real Redis: whole, in batches,
// streamed, and every way a stored artifact can be unreadable.
import { randomBytes, randomUUID } from 'node:crypto';
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
