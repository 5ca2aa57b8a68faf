// Baselines in Redis: a scheduled run that completes leaves, per node, the
// summary of its numbers under (node, runbook, target); the newest few are
// kept for a month. Later runs look theirs up by the same key.
import type { RedisClient } from '../redis/connection.js';
import { keys } from '../redis/keys.js';
import type { RunRecord } from '../model/run.js';
import { createLogger } from '../util/logger.js';
import type { BaselineMetric } from '../model/findings.js';

const log = createLogger({ component: 'baselines' });

/** The runbook any run falls back to when its own runbook has no scheduled baseline. */
export const BASELINE_RUNBOOK = 'health-check';
const KEEP = 10;
const TTL_SECONDS = 30 * 24 * 3600;

export interface Baseline {
  runId: string;
  node: string;
  runbook: string;
  target: string;
  /** When the baseline run finished (ISO). */
  at: string;
  metrics: BaselineMetric[];
}

/** The run's target as a key part: "all" or its fields, sorted. */
export function targetKey(run: RunRecord): string {
  const t = (run.plan.target ?? {}) as Record<string, unknown>;
  const parts = Object.keys(t)
    .sort()
    .filter((k) => t[k] !== undefined)
    .map((k) => `${k}=${JSON.stringify(t[k])}`);
  return parts.length ? parts.join(',') : 'all';
}

const runbookOf = (run: RunRecord) => run.plan.runbook ?? 'ad-hoc';

/** A baseline is what a schedule captured: any scheduled run (health-check above all) that completes. */
export function isBaselineRun(run: RunRecord): boolean {
  return run.requestedBy.startsWith('schedule:');
}

/** Records a finished baseline run's numbers per completed node; never throws (logged). */
export async function recordBaseline(redis: RedisClient, run: RunRecord, metricsByNode: Map<string, BaselineMetric[]>): Promise<void> {
  try {
    const target = targetKey(run);
    const runbook = runbookOf(run);
    const at = run.finishedAt ?? new Date().toISOString();
    const multi = redis.multi();
    for (const [node, metrics] of metricsByNode) {
      if (run.nodes[node]?.status !== 'completed') continue;
      const baseline: Baseline = { runId: run.id, node, runbook, target, at, metrics };
      const key = keys.baseline(node, runbook, target);
      multi
        .lpush(key, JSON.stringify(baseline))
        .ltrim(key, 0, KEEP - 1)
        .expire(key, TTL_SECONDS);
    }
    await multi.exec();
  } catch (err) {
    log.warn('baseline not recorded', { runId: run.id, error: (err as Error).message });
  }
}

async function newest(redis: RedisClient, key: string, excludeRunId: string, before: string): Promise<Baseline | undefined> {
  for (const text of await redis.lrange(key, 0, KEEP - 1)) {
    try {
      const b = JSON.parse(text) as Baseline;
      if (b.runId !== excludeRunId && b.at <= before && Array.isArray(b.metrics)) return b;
    } catch {
      // a corrupt entry: skip it
    }
  }
  return undefined;
}

/**
 * The baseline a run on `node` is compared with: the newest one recorded
 * before the run was created, of the run's own runbook and target, else of
 * the health-check runbook with the same target.
 */
export async function latestBaseline(redis: RedisClient, run: RunRecord, node: string): Promise<Baseline | undefined> {
  const target = targetKey(run);
  const runbooks = [...new Set([runbookOf(run), BASELINE_RUNBOOK])];
  for (const runbook of runbooks) {
    const found = await newest(redis, keys.baseline(node, runbook, target), run.id, run.createdAt);
    if (found) return found;
  }
  return undefined;
}
