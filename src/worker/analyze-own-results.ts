// The worker's share of its run's analysis: its node's findings and baseline
// numbers from the results it just stored, kept as analysis.json so finalize
// merges small parts instead of parsing every node's results; the run's
// Falco rules are matched here too (their alerts stored beside). A failure
// here stores nothing and never fails the node: finalize then analyzes the results.
import type { FalcoNodeSummary } from '../falco/analyze-node.js';
import { putArtifact } from '../runs/artifacts.js';
import { analyzeNodeResults, storeNodeAnalysis, type StoredResult } from '../runs/node-analysis.js';
import { createLogger } from '../util/logger.js';
import { runFalcoRules } from './falco-rules.js';
import type { NodeJobContext } from './run-node-job.js';

const log = createLogger({ component: 'worker' });

/** Returns what the node's Falco rules did, for its state (the manifest shows it). */
export async function analyzeOwnResults(ctx: NodeJobContext, runId: string, node: string, stored: StoredResult[]): Promise<FalcoNodeSummary | undefined> {
  if (!stored.length) return undefined;
  let falcoSummary: FalcoNodeSummary | undefined;
  try {
    const started = performance.now();
    const run = await ctx.store.get(runId);
    if (!run) throw new Error('its run record is gone');
    const analysis = analyzeNodeResults(run, node, stored);
    try {
      const falco = runFalcoRules(run, node, stored, { operatorPaths: ctx.falcoRules ?? [] });
      if (falco) {
        falcoSummary = falco.summary;
        analysis.part.findings.push(...falco.findings);
        analysis.part.checked.push({ node, capture: 'falco', what: `${falco.summary.loaded} Falco rules over ${falco.summary.events} events` });
        if (falco.alerts.length) {
          const ndjson = falco.alerts.map((a) => JSON.stringify(a)).join('\n') + '\n';
          await putArtifact(ctx.redis, { runId, node, name: falco.summary.alertsFile!, contentType: 'application/x-ndjson', ttlSeconds: ctx.retentionSeconds }, ndjson);
        }
      }
    } catch (err) {
      log.warn('Falco rules failed on this node', { runId, node, error: (err as Error).message });
      analysis.part.findings.push({ id: `falco:${node}:failed`, severity: 'info', title: `Matching the Falco rules on ${node} failed (${(err as Error).message}).`, node, capture: 'falco', evidence: {}, file: '', score: 0 });
    }
    const meta = await storeNodeAnalysis(ctx.redis, runId, analysis, ctx.retentionSeconds);
    log.debug('node analyzed', { runId, node, findings: analysis.part.findings.length, bytes: meta.bytes, ms: Math.round(performance.now() - started) });
  } catch (err) {
    log.warn('analysis of this node failed; finalize will analyze its results', { runId, node, error: (err as Error).message });
  }
  return falcoSummary;
}
