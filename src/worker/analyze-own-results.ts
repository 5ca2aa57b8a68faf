// The worker's share of its run's analysis: its node's findings and baseline
// numbers from the results it just stored, kept as analysis.json so finalize
// merges small parts instead of parsing every node's results. A failure here
// stores nothing and never fails the node: finalize then analyzes the results.
// The run's Falco rules end here too (only the worker has the rule files):
// the session that matched the streamed records takes the results read only
// at the end; without one, every result is matched now. Their alerts are
// stored beside the results, their findings and rule states returned for
// the node's state, where finalize and the manifest find them.
import type { RedisClient } from '../redis/connection.js';
import type { FalcoNodeSummary } from '../model/falco.js';
import type { RunRecord } from '../model/run.js';
import { putArtifact } from '../redis/artifacts.js';
import { analyzeNodeResults, storeNodeAnalysis, type StoredResult } from '../runs/node-analysis.js';
import type { RunStore } from '../runs/store.js';
import { createLogger } from '../util/logger.js';
import { runFalcoRules, type FalcoStart } from './falco-rules.js';

const log = createLogger({ component: 'worker' });

/** What the analysis needs of the node job's context (src/worker/run-node-job.ts). */
export interface OwnAnalysisContext {
  redis: RedisClient;
  store: Pick<RunStore, 'getPlanned'>;
  retentionSeconds: number;
  /** Operator Falco rule files and directories (SHERLOCK_FALCO_RULES). */
  falcoRules?: string[];
}

/** Returns what the node's Falco rules did, for its state (the manifest shows it). */
export async function analyzeOwnResults(
  ctx: OwnAnalysisContext,
  runId: string,
  node: string,
  stored: StoredResult[],
  live?: FalcoStart,
  /** The run's plan, when the job read it already (read here otherwise). */
  planned?: RunRecord,
): Promise<FalcoNodeSummary | undefined> {
  if (!stored.length) return undefined;
  let run: RunRecord | undefined;
  try {
    const started = performance.now();
    run = planned ?? (await ctx.store.getPlanned(runId));
    if (!run) throw new Error('its run record is gone');
    const analysis = await analyzeNodeResults(run, node, stored);
    const meta = await storeNodeAnalysis(ctx.redis, runId, analysis, ctx.retentionSeconds);
    log.debug('node analyzed', { runId, node, findings: analysis.part.findings.length, bytes: meta.bytes, ms: Math.round(performance.now() - started) });
  } catch (err) {
    log.warn('analysis of this node failed; finalize will analyze its results', { runId, node, error: (err as Error).message });
  }
  return run ? matchFalcoRules(ctx, run, node, stored, live) : undefined;
}

async function matchFalcoRules(
  ctx: OwnAnalysisContext,
  run: RunRecord,
  node: string,
  stored: StoredResult[],
  live: FalcoStart | undefined,
): Promise<FalcoNodeSummary | undefined> {
  try {
    const falco = live
      ? live.session.finish(
          stored.map((s) => s.result),
          live.problems,
        )
      : runFalcoRules(run, node, stored, { operatorPaths: ctx.falcoRules ?? [] });
    if (!falco) return undefined;
    if (falco.alerts.length) {
      const ndjson = falco.alerts.map((a) => JSON.stringify(a)).join('\n') + '\n';
      await putArtifact(
        ctx.redis,
        { runId: run.id, node, name: falco.summary.alertsFile!, contentType: 'application/x-ndjson', ttlSeconds: ctx.retentionSeconds },
        ndjson,
      );
    }
    return falco.summary;
  } catch (err) {
    const message = (err as Error).message;
    log.warn('Falco rules failed on this node', { runId: run.id, node, error: message });
    return {
      files: [],
      loaded: 0,
      notLoaded: [],
      errors: [`matching failed: ${message}`],
      events: 0,
      matches: 0,
      alerts: 0,
      alertsDropped: 0,
      findings: [
        {
          id: `falco:${node}:failed`,
          severity: 'info',
          title: `Matching the Falco rules on ${node} failed (${message}); their alerts are missing.`,
          node,
          capture: 'falco',
          evidence: { error: message },
          file: '',
          score: 0,
        },
      ],
    };
  }
}
