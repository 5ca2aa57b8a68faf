// The worker's share of its run's analysis: its node's findings and baseline
// numbers from the results it just stored, kept as analysis.json so finalize
// merges small parts instead of parsing every node's results. A failure here
// stores nothing and never fails the node: finalize then analyzes the results.
import type { Redis } from 'ioredis';
import { analyzeNodeResults, storeNodeAnalysis, type StoredResult } from '../runs/node-analysis.js';
import type { RunStore } from '../runs/store.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ component: 'worker' });

/** What the analysis needs of the node job's context (src/worker/run-node-job.ts). */
export interface OwnAnalysisContext {
  redis: Redis;
  store: Pick<RunStore, 'get'>;
  retentionSeconds: number;
}

export async function analyzeOwnResults(ctx: OwnAnalysisContext, runId: string, node: string, stored: StoredResult[]): Promise<void> {
  if (!stored.length) return;
  try {
    const started = performance.now();
    const run = await ctx.store.get(runId);
    if (!run) throw new Error('its run record is gone');
    const analysis = analyzeNodeResults(run, node, stored);
    const meta = await storeNodeAnalysis(ctx.redis, runId, analysis, ctx.retentionSeconds);
    log.debug('node analyzed', { runId, node, findings: analysis.part.findings.length, bytes: meta.bytes, ms: Math.round(performance.now() - started) });
  } catch (err) {
    log.warn('analysis of this node failed; finalize will analyze its results', { runId, node, error: (err as Error).message });
  }
}
