// Capture results stored gzip-compressed under the run's keys, with the run's
// retention. Large artifacts are split into chunks so no single Redis value
// (or reply) grows past a few MB; readers stream them back chunk by chunk.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Redis } from 'ioredis';
import { keys } from './keys.js';

const gzipAsync = promisify(gzip);
export const CHUNK_BYTES = 4 * 1024 * 1024;

export interface ArtifactMeta {
  name: string;
  contentType: string;
  /** Uncompressed and stored (gzip) sizes. */
  bytes: number;
  storedBytes: number;
  chunks: number;
}

const metaKey = (runId: string, node: string, name: string) => keys.artifact(runId, node, name);
const chunkKey = (runId: string, node: string, name: string, i: number) => `${keys.artifact(runId, node, name)}:${i}`;

export async function putArtifact(
  redis: Redis,
  where: { runId: string; node: string; name: string; contentType: string; ttlSeconds: number },
  content: string | Buffer,
): Promise<ArtifactMeta> {
  const raw = typeof content === 'string' ? Buffer.from(content) : content;
  const gz = await gzipAsync(raw);
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

export async function artifactMeta(redis: Redis, runId: string, node: string, name: string): Promise<ArtifactMeta | undefined> {
  const text = await redis.get(metaKey(runId, node, name));
  return text ? (JSON.parse(text) as ArtifactMeta) : undefined;
}

/** The gzip bytes of an artifact, chunk by chunk (constant memory per chunk). */
export async function* artifactChunks(redis: Redis, runId: string, node: string, meta: ArtifactMeta): AsyncGenerator<Buffer> {
  for (let i = 0; i < meta.chunks; i++) {
    const chunk = await redis.getBuffer(chunkKey(runId, node, meta.name, i));
    if (!chunk) throw new Error(`artifact ${meta.name} of node ${node} expired while being read`);
    yield chunk;
  }
}
