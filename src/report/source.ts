// Where a report reads from: the run's artifacts in Redis (gzip, chunked;
// src/redis/artifacts.ts reads and writes that format), node heartbeats for
// kernels the run record lacks, and findings and the baseline comparison
// through loaders (analysis owns them). Artifacts are read as streams of
// gunzipped chunks, or parsed whole one capture at a time.
import type { RedisClient } from '../redis/connection.js';
import type { Finding } from '../model/findings.js';
import type { BaselineComparison } from '../model/baseline.js';
import { keys } from '../redis/keys.js';
import { artifactChunks, artifactMeta, gunzipArtifact, gunzipChunks, type ArtifactMeta } from '../redis/artifacts.js';

/** Findings of a run: undefined when analysis has not (yet) produced any. */
export type FindingsLoader = (runId: string) => Promise<Finding[] | undefined>;
/** A run's comparison with its baselines: undefined when none was stored. */
export type BaselineLoader = (runId: string) => Promise<BaselineComparison | undefined>;

/** The artifacts of one run. */
export interface ArtifactSource {
  meta(node: string, name: string): Promise<ArtifactMeta | undefined>;
  /** The stored (gzip) bytes, chunk by chunk. */
  chunks(node: string, meta: ArtifactMeta): AsyncIterable<Buffer>;
  /** The node's kernel release from its latest heartbeat, if Redis still has one. */
  heartbeatKernel(node: string): Promise<string | undefined>;
}

export function redisArtifactSource(redis: RedisClient, runId: string): ArtifactSource {
  return {
    meta: (node, name) => artifactMeta(redis, runId, node, name),
    chunks: (node, meta) => artifactChunks(redis, runId, node, meta),
    async heartbeatKernel(node) {
      const text = await redis.hget(keys.nodes, node);
      if (!text) return undefined;
      try {
        const kernel = (JSON.parse(text) as { kernel?: unknown }).kernel;
        return typeof kernel === 'string' ? kernel : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** Feeds an artifact's uncompressed bytes to `consume`, chunk by chunk, with backpressure (gunzipChunks). */
export async function streamArtifact(
  source: ArtifactSource,
  node: string,
  meta: ArtifactMeta,
  consume: (chunk: Buffer) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<void> {
  await gunzipChunks(source.chunks(node, meta), consume, signal);
}

/** A whole artifact, uncompressed (for the capture JSON a report section parses). */
export async function readArtifact(source: ArtifactSource, node: string, meta: ArtifactMeta): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source.chunks(node, meta)) parts.push(chunk);
  return gunzipArtifact(parts);
}
