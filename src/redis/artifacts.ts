// The one reader and writer of stored artifacts: capture results (and a run's
// own findings) gzip-compressed under the run's keys, with the run's
// retention. Large artifacts are split into chunks so no single Redis value
// (or reply) grows past a few MB. Readers take them back whole and in batches
// (analysis) or as a stream of gunzipped chunks (reports, downloads).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, createGzip, gunzip, gzip, gzipSync } from 'node:zlib';
import type { RedisClient } from './connection.js';
import { keys } from './keys.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
export const CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * Content up to this size is gzipped in one synchronous call (a few ms at most):
 * an async gzip waits for libuv's thread pool, which a worker's probe detaches
 * (an RCU grace period each, 40-200 ms) may all be holding, and a node's small
 * results then waited 30-130 ms to be stored.
 */
export const SYNC_GZIP_BYTES = 256 * 1024;

export interface ArtifactMeta {
  name: string;
  contentType: string;
  /** Uncompressed and stored (gzip) sizes. */
  bytes: number;
  storedBytes: number;
  chunks: number;
}

/** One stored artifact of a run: the node (or pseudo node) and its name. */
export interface ArtifactRef {
  node: string;
  name: string;
}

/** An artifact read back still compressed, or why it could not be (`missing`: no meta at all). */
export type StoredArtifact = { meta: ArtifactMeta; gz: Buffer[] } | { why: string; missing?: true };

const metaKey = (runId: string, node: string, name: string) => keys.artifact(runId, node, name);
const chunkKey = (runId: string, node: string, name: string, i: number) => `${keys.artifact(runId, node, name)}:${i}`;

/** Where an artifact goes: its run, node (or pseudo node), name, type and retention. */
export interface ArtifactPlace {
  runId: string;
  node: string;
  name: string;
  contentType: string;
  ttlSeconds: number;
}

/**
 * Stores an artifact. Content in chunks (an iterable, e.g. spooled events read
 * from disk) is gzipped as it streams and written a stored chunk at a time, the
 * meta last, so memory stays at a chunk or two whatever its size; a reader
 * sees it only once whole.
 */
export async function putArtifact(
  redis: RedisClient,
  where: ArtifactPlace,
  content: string | Buffer | Iterable<Buffer> | AsyncIterable<Buffer>,
): Promise<ArtifactMeta> {
  if (typeof content === 'string' || Buffer.isBuffer(content)) return putWhole(redis, where, typeof content === 'string' ? Buffer.from(content) : content);
  // Chunked content that turns out small (most results) is stored whole: one gzip call, one round trip.
  const chunks = Symbol.asyncIterator in content ? content[Symbol.asyncIterator]() : content[Symbol.iterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  while (headBytes <= SYNC_GZIP_BYTES) {
    const next = await chunks.next();
    if (next.done) return putWhole(redis, where, Buffer.concat(head));
    head.push(next.value);
    headBytes += next.value.length;
  }
  return putArtifactChunks(redis, where, resumed(head, chunks));
}

/** The chunks already read, then the rest; the rest is closed (a spool's file) if the store stops early. */
async function* resumed(head: Buffer[], rest: Iterator<Buffer> | AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  let done = false;
  try {
    yield* head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
    done = true;
  } finally {
    if (!done) await rest.return?.();
  }
}

async function putWhole(redis: RedisClient, where: ArtifactPlace, raw: Buffer): Promise<ArtifactMeta> {
  const gz = raw.length <= SYNC_GZIP_BYTES ? gzipSync(raw) : await gzipAsync(raw);
  const chunks = Math.max(1, Math.ceil(gz.length / CHUNK_BYTES));
  const meta: ArtifactMeta = { name: where.name, contentType: where.contentType, bytes: raw.length, storedBytes: gz.length, chunks };
  const tx = redis.multi();
  for (let i = 0; i < chunks; i++) {
    tx.set(chunkKey(where.runId, where.node, where.name, i), gz.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES), 'EX', where.ttlSeconds);
  }
  tx.set(metaKey(where.runId, where.node, where.name), JSON.stringify(meta), 'EX', where.ttlSeconds);
  await tx.exec();
  return meta;
}

async function putArtifactChunks(redis: RedisClient, where: ArtifactPlace, content: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<ArtifactMeta> {
  let bytes = 0;
  let storedBytes = 0;
  let chunks = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const store = async (final: boolean) => {
    while (pendingBytes >= CHUNK_BYTES || (final && (pendingBytes > 0 || chunks === 0))) {
      const all = Buffer.concat(pending);
      const chunk = all.subarray(0, CHUNK_BYTES);
      await redis.set(chunkKey(where.runId, where.node, where.name, chunks++), chunk, 'EX', where.ttlSeconds);
      const rest = all.subarray(chunk.length);
      pending = rest.length ? [Buffer.from(rest)] : [];
      pendingBytes = rest.length;
    }
  };
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of content) {
      bytes += chunk.length;
      yield chunk;
    }
  }
  await pipeline(Readable.from(counted(), { objectMode: false }), createGzip(), async function (gz: AsyncIterable<Buffer>) {
    for await (const out of gz) {
      pending.push(out);
      pendingBytes += out.length;
      storedBytes += out.length;
      await store(false);
    }
  });
  await store(true);
  const meta: ArtifactMeta = { name: where.name, contentType: where.contentType, bytes, storedBytes, chunks };
  await redis.set(metaKey(where.runId, where.node, where.name), JSON.stringify(meta), 'EX', where.ttlSeconds);
  return meta;
}

/** A stored meta, checked; a string says why it cannot be used. */
function parseMeta(text: unknown): ArtifactMeta | string {
  if (typeof text !== 'string') return 'it is missing (expired, or never stored)';
  try {
    const meta = JSON.parse(text) as ArtifactMeta;
    return meta && Number.isInteger(meta.chunks) && meta.chunks >= 1 ? meta : 'its metadata is corrupt';
  } catch {
    return 'its metadata is corrupt';
  }
}

export async function artifactMeta(redis: RedisClient, runId: string, node: string, name: string): Promise<ArtifactMeta | undefined> {
  const text = await redis.get(metaKey(runId, node, name));
  if (!text) return undefined;
  try {
    return JSON.parse(text) as ArtifactMeta;
  } catch {
    return undefined; // not a meta record (a chunk's key): no such artifact
  }
}

/** Bytes asked of Redis at once when an artifact is streamed: a reply never holds a whole 4 MiB chunk. */
export const READ_SLICE_BYTES = 256 * 1024;

/** The gzip bytes of an artifact in slices of at most `sliceBytes` (GETRANGE; memory stays at a slice per reader). */
export async function* artifactChunks(
  redis: RedisClient,
  runId: string,
  node: string,
  meta: ArtifactMeta,
  sliceBytes = READ_SLICE_BYTES,
): AsyncGenerator<Buffer> {
  const expired = () => new Error(`artifact ${meta.name} of node ${node} expired while being read`);
  for (let i = 0; i < meta.chunks; i++) {
    const key = chunkKey(runId, node, meta.name, i);
    const length = await redis.strlen(key);
    if (length === 0) throw expired();
    for (let at = 0; at < length; at += sliceBytes) {
      const end = Math.min(length, at + sliceBytes) - 1;
      const slice = await redis.getrangeBuffer(key, at, end);
      // A key that expired between slices reads back empty (or short).
      if (slice.length !== end - at + 1) throw expired();
      yield slice;
    }
  }
}

/**
 * These artifacts, still compressed, in at most two round trips: every meta
 * with its first chunk, then the other chunks of those stored in several.
 * `skip` may refuse one by its meta (a string says why; its later chunks are
 * not read). Never throws for bad data, only when Redis fails.
 */
export async function readStoredArtifacts(
  redis: RedisClient,
  runId: string,
  refs: ArtifactRef[],
  skip: (meta: ArtifactMeta) => string | undefined = () => undefined,
): Promise<StoredArtifact[]> {
  if (!refs.length) return [];
  const first = redis.pipeline();
  for (const r of refs) first.get(metaKey(runId, r.node, r.name)).getBuffer(chunkKey(runId, r.node, r.name, 0));
  const firstReplies = (await first.exec()) ?? [];
  const out = refs.map((_, i): StoredArtifact => {
    const [metaErr, metaText] = firstReplies[2 * i] ?? [new Error('no reply')];
    const [chunkErr, chunk] = firstReplies[2 * i + 1] ?? [new Error('no reply')];
    const err = metaErr ?? chunkErr;
    if (err) return { why: `reading it failed: ${err.message}` };
    if (typeof metaText !== 'string') return { why: 'it is missing (expired, or never stored)', missing: true };
    const meta = parseMeta(metaText);
    if (typeof meta === 'string') return { why: meta };
    const skipped = skip(meta);
    if (skipped) return { why: skipped };
    if (!Buffer.isBuffer(chunk)) return { why: 'a chunk of it is missing (expired)' };
    return { meta, gz: [chunk] };
  });
  const rest = redis.pipeline();
  out.forEach((a, i) => {
    if (!('meta' in a)) return;
    for (let c = 1; c < a.meta.chunks; c++) rest.getBuffer(chunkKey(runId, refs[i]!.node, refs[i]!.name, c));
  });
  if (!rest.length) return out;
  const replies = (await rest.exec()) ?? [];
  let next = 0;
  return out.map((a) => {
    if (!('meta' in a)) return a;
    for (const [err, value] of replies.slice(next, (next += a.meta.chunks - 1))) {
      if (err) return { why: `reading it failed: ${err.message}` };
      if (!Buffer.isBuffer(value)) return { why: 'a chunk of it is missing (expired)' };
      a.gz.push(value);
    }
    return a;
  });
}

/** An artifact's stored chunks, uncompressed whole. */
export const gunzipArtifact = (gz: Buffer[]): Promise<Buffer> => gunzipAsync(gz.length === 1 ? gz[0]! : Buffer.concat(gz));

/** One artifact, uncompressed whole; a string says why it cannot be read. */
export async function readArtifact(redis: RedisClient, runId: string, ref: ArtifactRef): Promise<Buffer | string> {
  const [stored] = await readStoredArtifacts(redis, runId, [ref]);
  if (!stored || !('meta' in stored)) return stored?.why ?? 'no reply';
  return gunzipArtifact(stored.gz);
}

/**
 * Compressed bytes given to gunzip at once: it inflates a whole write before
 * taking the next, so this times the compression ratio (10 for JSON, up to
 * ~1000 for runs of one byte) is what one write may leave in memory.
 */
export const GUNZIP_INPUT_BYTES = 16 * 1024;

/** The same bytes in pieces of at most `size` (views, no copies). */
async function* inPieces(chunks: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) for (let at = 0; at < chunk.length; at += size) yield chunk.subarray(at, at + size);
}

/**
 * Feeds an artifact's uncompressed bytes to `consume` from its stored chunks,
 * with backpressure (the next chunk is read when the consumer is ready);
 * memory stays at a chunk or two whatever the artifact's size.
 */
export async function gunzipChunks(chunks: AsyncIterable<Buffer>, consume: (chunk: Buffer) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
  await pipeline(
    Readable.from(inPieces(chunks, GUNZIP_INPUT_BYTES), { objectMode: false }),
    createGunzip({ chunkSize: 64 * 1024 }),
    async function (gunzipped: AsyncIterable<Buffer>) {
      for await (const chunk of gunzipped) await consume(chunk);
    },
    ...(signal ? [{ signal }] : []),
  );
}
