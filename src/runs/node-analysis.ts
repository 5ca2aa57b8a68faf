// A node's share of its run's analysis (findings, what was checked, baseline
// numbers), made by its worker from the results still in memory and stored
// beside them as analysis.json; finalize merges these instead of reading every
// result back, and falls back to the results for a node whose file is missing,
// unreadable, of another format, or made for other captures or settings.
import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import { RunAnalysis, type NodeAnalysisPart, type NodeResult } from './analyze-run.js';
import { linksSchema, SYMPTOMS, type BaselineMetric } from '../model/findings.js';
import { summarize } from '../baselines/metrics.js';
import type { CaptureResult } from '../captures/capture.js';
import { spooledEventsOf } from '../captures/event-spool.js';
import { gunzipArtifact, putArtifact, readStoredArtifacts, type ArtifactMeta, type StoredArtifact } from '../redis/artifacts.js';
import type { NodeState, RunRecord } from '../model/run.js';

/** Not among the node's captures (the report never lists it), but served like any artifact. */
export const NODE_ANALYSIS_ARTIFACT = 'analysis.json';
/** Bumped whenever the stored shape or meaning changes; another number falls back to the results. */
export const NODE_ANALYSIS_FORMAT = 2; // 2: findings carry impact, cause and links

/** Capture results bigger than this are not analyzed (a finding says so); keeps finalization bounded. */
export const MAX_ANALYZED_BYTES = 256 * 1024 * 1024;

/** Why a stored result of `bytes` is not analyzed, or undefined when it is. */
export const tooLargeToAnalyze = (bytes: number): string | undefined =>
  bytes > MAX_ANALYZED_BYTES ? `it is ${Math.round(bytes / 1048576)} MiB, over the ${MAX_ANALYZED_BYTES / 1048576} MiB analysis limit` : undefined;

export interface NodeAnalysis {
  format: typeof NODE_ANALYSIS_FORMAT;
  node: string;
  /** The capture artifacts it was made from, in the node's order; must match the node's state at finalize. */
  artifacts: string[];
  /** RunAnalysis.settingsKey() of the run it was made for. */
  settings: string;
  part: NodeAnalysisPart;
  metrics: BaselineMetric[];
}

/** A capture result as the worker stored it. */
export interface StoredResult {
  artifact: string;
  /** Its uncompressed size, as stored. */
  bytes: number;
  result: CaptureResult;
}

/** The artifacts finalize reads for a node: its captures that stored a result, in order. */
export const analyzedArtifacts = (state: NodeState | undefined): { capture: string; artifact: string }[] =>
  (state?.captures ?? []).flatMap((c) => (c.artifact && !c.error ? [{ capture: c.capture, artifact: c.artifact }] : []));

/**
 * The node's part and baseline numbers from its stored results, as finalize
 * would compute them from storage; the event loop gets a turn between captures.
 */
export async function analyzeNodeResults(run: RunRecord, node: string, stored: StoredResult[]): Promise<NodeAnalysis> {
  const analysis = new RunAnalysis({ run });
  const results = stored.map((s): NodeResult => {
    // Spooled events are read in a streaming pass: no size limit (finalize's fallback, reading the JSON whole, keeps it).
    const tooLarge = spooledEventsOf(s.result) ? undefined : tooLargeToAnalyze(s.bytes);
    return tooLarge ? { node, capture: s.result.capture, error: tooLarge } : { node, result: s.result };
  });
  const part = await analysis.analyzeNodeYielding(results);
  return { format: NODE_ANALYSIS_FORMAT, node, artifacts: stored.map((s) => s.artifact), settings: analysis.settingsKey(), part, metrics: summarize(results) };
}

export async function storeNodeAnalysis(redis: RedisClient, runId: string, analysis: NodeAnalysis, ttlSeconds: number): Promise<ArtifactMeta> {
  return putArtifact(
    redis,
    { runId, node: analysis.node, name: NODE_ANALYSIS_ARTIFACT, contentType: 'application/json', ttlSeconds },
    JSON.stringify(analysis),
  );
}

const findingSchema = z.object({
  id: z.string(),
  severity: z.enum(['critical', 'warning', 'info']),
  title: z.string(),
  node: z.string(),
  capture: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  file: z.string(),
  score: z.number(),
  impact: z.object({ value: z.number(), unit: z.enum(['s/s', 'hits']), basis: z.string(), bears: z.array(z.enum(SYMPTOMS)) }).optional(),
  cause: z.object({ key: z.string(), subject: z.string() }).optional(),
  links: linksSchema.optional(),
});

const nodeAnalysisSchema = z.object({
  format: z.literal(NODE_ANALYSIS_FORMAT),
  node: z.string(),
  artifacts: z.array(z.string()),
  settings: z.string(),
  part: z.object({
    findings: z.array(findingSchema),
    checked: z.array(z.object({ node: z.string(), capture: z.string(), what: z.string() })),
    unchecked: z.array(z.string()),
    stoppedEarly: z.string().optional(),
  }),
  metrics: z.array(
    z.object({
      metric: z.string(),
      value: z.number(),
      unit: z.enum(['us', 'pct', 'rate', 'per_min']),
      capture: z.string(),
      samples: z.number(),
      minSamples: z.number().optional(),
    }),
  ),
});

/** A stored analysis.json, checked; a string says why it cannot be used. */
export function parseNodeAnalysis(value: unknown): NodeAnalysis | string {
  const format = (value as { format?: unknown } | null)?.format;
  if (format !== NODE_ANALYSIS_FORMAT) return `its format is ${JSON.stringify(format)}, this server reads ${NODE_ANALYSIS_FORMAT}`;
  const parsed = nodeAnalysisSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `it is malformed (${issue ? `${issue.path.join('.') || 'the top level'}: ${issue.message}` : 'no detail'})`;
  }
  return parsed.data as NodeAnalysis;
}

/**
 * Every listed node's analysis.json (one round trip while each fits in a
 * chunk, as they do), decompressed and checked; a string says why a node's
 * cannot be used.
 */
export async function readNodeAnalyses(redis: RedisClient, runId: string, nodes: string[]): Promise<Map<string, NodeAnalysis | string>> {
  const stored = await readStoredArtifacts(
    redis,
    runId,
    nodes.map((node) => ({ node, name: NODE_ANALYSIS_ARTIFACT })),
  );
  const decoded = await Promise.all(stored.map(decodeNodeAnalysis));
  return new Map(nodes.map((node, i) => [node, decoded[i]!]));
}

async function decodeNodeAnalysis(stored: StoredArtifact): Promise<NodeAnalysis | string> {
  if ('missing' in stored) return 'there is none (the worker did not store one)';
  if (!('meta' in stored)) return stored.why;
  try {
    return parseNodeAnalysis(JSON.parse((await gunzipArtifact(stored.gz)).toString('utf8')) as unknown);
  } catch (e) {
    return `it is corrupt: ${(e as Error).message}`;
  }
}

/** Why a node's stored analysis cannot stand in for its results, or undefined when it can. */
export function unusableReason(stored: NodeAnalysis | string | undefined, node: string, artifacts: string[], settings: string): string | undefined {
  if (stored === undefined) return 'there is none';
  if (typeof stored === 'string') return stored;
  if (stored.node !== node) return `it is node ${stored.node}'s`;
  if (stored.artifacts.length !== artifacts.length || stored.artifacts.some((a, i) => a !== artifacts[i]))
    return 'it was made from other captures than the node lists';
  if (stored.settings !== settings) return 'it was made with other thresholds, rules or window';
  return undefined;
}
