// A run's findings: computed once every node is final (before the run's status
// says so, so a final run always has them) and stored as the artifact
// findings.json of the pseudo node "_run" with the run's retention; beside it
// baseline.json, the run's numbers against its nodes' latest baselines. Each
// node's part comes from the analysis.json its worker stored (one batched
// read for all nodes, node-analysis.ts); only nodes without a usable one have
// their capture results read back and analyzed here (artifacts.ts: at most two
// round trips), gunzip in parallel.
import type { RedisClient } from '../redis/connection.js';
import { RunAnalysis, sortFindings, type NodeResult } from './analyze-run.js';
import type { Finding } from '../model/findings.js';
import { compareRun, regressionFindings, type BaselineComparison } from '../baselines/compare.js';
import type { BaselineMetric } from '../model/findings.js';
import { summarize } from '../baselines/metrics.js';
import type { CaptureResult } from '../captures/capture.js';
import { createLogger } from '../util/logger.js';
import { gunzipArtifact, putArtifact, readArtifact, readStoredArtifacts } from '../redis/artifacts.js';
import { analyzedArtifacts, readNodeAnalyses, tooLargeToAnalyze, unusableReason, type NodeAnalysis } from './node-analysis.js';
import type { RunRecord } from '../model/run.js';

export { MAX_ANALYZED_BYTES } from './node-analysis.js';

const log = createLogger({ component: 'findings' });

/** The pseudo node and artifact name findings are stored under. */
export const FINDINGS_NODE = '_run';
export const FINDINGS_ARTIFACT = 'findings.json';
export const BASELINE_ARTIFACT = 'baseline.json';

interface Wanted {
  node: string;
  capture: string;
  artifact: string;
}

/** A node's stored result of one capture, still compressed, or why it cannot be read. */
type Fetched = Wanted & ({ gz: Buffer[] } | { error: string });

/** These stored capture results, compressed (small); those too large to analyze are not read. */
async function fetchResults(redis: RedisClient, runId: string, wanted: Wanted[]): Promise<Fetched[]> {
  const stored = await readStoredArtifacts(
    redis,
    runId,
    wanted.map((w) => ({ node: w.node, name: w.artifact })),
    (meta) => tooLargeToAnalyze(meta.bytes),
  );
  return stored.map((s, i): Fetched => ('meta' in s ? { ...wanted[i]!, gz: s.gz } : { ...wanted[i]!, error: s.why }));
}

async function decode(f: Fetched): Promise<NodeResult> {
  if ('error' in f) return { node: f.node, capture: f.capture, error: f.error };
  try {
    const result = JSON.parse((await gunzipArtifact(f.gz)).toString('utf8')) as unknown;
    if (!result || typeof result !== 'object' || Array.isArray(result))
      return { node: f.node, capture: f.capture, error: 'it is not a capture result (not a JSON object)' };
    return { node: f.node, result: result as CaptureResult };
  } catch (err) {
    return { node: f.node, capture: f.capture, error: `it is corrupt: ${(err as Error).message}` };
  }
}

export interface RunConclusions {
  findings: Finding[];
  /** Each node's baseline numbers (src/baselines/metrics.ts). */
  metrics: Map<string, BaselineMetric[]>;
  /** Nodes whose results were read back and analyzed here, with why their worker's analysis.json was not used. */
  analyzedHere: Map<string, string>;
}

/**
 * The run's findings from each node's stored analysis.json, or, for nodes
 * without a usable one, from their capture results, read and analyzed one
 * node at a time (only one node's parsed results in memory at once). Nodes
 * are merged in the run's order either way, so the findings are those a
 * central analysis of every result gives. Never throws for bad data, only
 * when Redis fails.
 */
export async function analyzeStoredRun(redis: RedisClient, run: RunRecord): Promise<RunConclusions> {
  const started = performance.now();
  const analysis = new RunAnalysis({ run });
  const wanted = new Map<string, Wanted[]>();
  for (const [node, state] of Object.entries(run.nodes)) {
    const list = analyzedArtifacts(state).map((a) => ({ node, ...a }));
    if (list.length) wanted.set(node, list);
  }
  const stored = await readNodeAnalyses(redis, run.id, [...wanted.keys()]);
  const settings = analysis.settingsKey();
  const parts = new Map<string, NodeAnalysis>();
  const analyzedHere = new Map<string, string>();
  for (const [node, list] of wanted) {
    const part = stored.get(node);
    const why = unusableReason(
      part,
      node,
      list.map((w) => w.artifact),
      settings,
    );
    if (why) analyzedHere.set(node, why);
    else parts.set(node, part as NodeAnalysis);
  }

  const fetched = await fetchResults(
    redis,
    run.id,
    [...analyzedHere.keys()].flatMap((node) => wanted.get(node)!),
  );
  const byNode = new Map<string, Fetched[]>();
  for (const f of fetched) byNode.set(f.node, [...(byNode.get(f.node) ?? []), f]);
  const metrics = new Map<string, BaselineMetric[]>();
  for (const node of wanted.keys()) {
    const part = parts.get(node);
    if (part) {
      analysis.addPart(part.part);
      metrics.set(node, part.metrics);
    } else {
      const results = await Promise.all((byNode.get(node) ?? []).map(decode));
      byNode.delete(node); // let the compressed bytes go too
      analysis.addNode(results);
      metrics.set(node, summarize(results));
    }
    // Its Falco rules' findings, made by its worker (which has the rule files) and kept in its state.
    const falco = run.nodes[node]?.falco?.findings;
    if (Array.isArray(falco) && falco.length) analysis.addPart({ findings: falco, checked: [], unchecked: [] });
  }
  const findings = analysis.finish();
  log.debug('findings computed', {
    runId: run.id,
    nodes: wanted.size,
    fromWorkers: parts.size,
    ...(analyzedHere.size ? { analyzedHere: Object.fromEntries(analyzedHere) } : {}),
    findings: findings.length,
    ms: Math.round(performance.now() - started),
  });
  return { findings, metrics, analyzedHere };
}

export async function storeFindings(redis: RedisClient, runId: string, findings: Finding[], ttlSeconds: number): Promise<void> {
  await putArtifact(redis, { runId, node: FINDINGS_NODE, name: FINDINGS_ARTIFACT, contentType: 'application/json', ttlSeconds }, JSON.stringify(findings));
}

/** A JSON artifact of the run itself (_run/<name>), parsed; undefined when absent or unreadable. */
async function readRunJson(redis: RedisClient, runId: string, name: string): Promise<unknown> {
  try {
    const content = await readArtifact(redis, runId, { node: FINDINGS_NODE, name });
    return typeof content === 'string' ? undefined : (JSON.parse(content.toString('utf8')) as unknown);
  } catch (err) {
    log.warn(`stored ${name} unreadable`, { runId, error: (err as Error).message });
    return undefined;
  }
}

/** The stored findings, or undefined when there are none (not final yet, or expired). */
export async function readFindings(redis: RedisClient, runId: string): Promise<Finding[] | undefined> {
  const findings = await readRunJson(redis, runId, FINDINGS_ARTIFACT);
  return Array.isArray(findings) ? (findings as Finding[]) : undefined;
}

/** The run's stored comparison with its baselines; undefined before it ended (or when it expired). */
export async function readBaselineComparison(redis: RedisClient, runId: string): Promise<BaselineComparison | undefined> {
  const cmp = (await readRunJson(redis, runId, BASELINE_ARTIFACT)) as BaselineComparison | undefined;
  return cmp && Array.isArray(cmp.rows) ? cmp : undefined;
}

/**
 * Computes and stores the findings of a run whose nodes are all final, with
 * its comparison with the baselines (regressions become findings too). Any
 * failure is logged and stored as one info finding: finalization goes on.
 * Returns each node's baseline numbers (for a run that is itself a baseline).
 */
export async function settleFindings(redis: RedisClient, run: RunRecord, ttlSeconds: number): Promise<Map<string, BaselineMetric[]>> {
  let findings: Finding[];
  let metrics = new Map<string, BaselineMetric[]>();
  try {
    ({ findings, metrics } = await analyzeStoredRun(redis, run));
    const comparison = await compareRun(redis, run, metrics);
    await putArtifact(
      redis,
      { runId: run.id, node: FINDINGS_NODE, name: BASELINE_ARTIFACT, contentType: 'application/json', ttlSeconds },
      JSON.stringify(comparison),
    );
    findings = sortFindings([...findings, ...regressionFindings(comparison, run)]);
  } catch (err) {
    log.warn('analysis failed', { runId: run.id, error: (err as Error).message });
    findings = [
      {
        id: 'analysis:*:failed',
        severity: 'info',
        title: `The run's results could not be analyzed (${(err as Error).message}); see each node's capture files.`,
        node: '*',
        capture: '*',
        evidence: { error: (err as Error).message },
        file: '',
        score: 0,
      },
    ];
  }
  await storeFindings(redis, run.id, findings, ttlSeconds);
  return metrics;
}
