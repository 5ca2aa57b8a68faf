// A run beside its nodes' latest baselines: one row per metric either side
// has ("p99 connect latency to 10.0.3.7:5432: 2.1 ms (baseline, 03:00 UTC) →
// 212 ms (now)"), and a finding for each clear regression. Computed once at
// finalize and stored with the run as _run/baseline.json.
import type { RedisClient } from '../redis/connection.js';
import { fmtClock, fmtRate, fmtUs } from '../format/index.js';
import type { BaselineComparison, BaselineRow } from '../model/baseline.js';
import type { BaselineMetric, Finding, Severity } from '../model/findings.js';
import type { RunRecord } from '../model/run.js';
import { latestBaseline, targetKey } from './store.js';

export type { BaselineComparison, BaselineRow } from '../model/baseline.js';

/** Latency: at least twice the baseline and 1 ms more, from enough samples to trust a p99. */
const LATENCY_FACTOR = 2;
const LATENCY_MIN_DELTA_US = 1000;
const MIN_SAMPLES = 5;
/** Critical: ten times the baseline and 100 ms more. */
const CRITICAL_FACTOR = 10;
const CRITICAL_DELTA_US = 100_000;
/** CPU share: at least twice the baseline and 15 points more. */
const SHARE_MIN_DELTA_PTS = 15;
/** Rates (drops/s): at least twice the baseline and 1/s more; critical at ten times and 100/s more. */
const RATE_MIN_DELTA = 1;
const RATE_CRITICAL_DELTA = 100;
/** Events per minute (rare events): at least twice the baseline, so 0 → any is one. */
const PER_MIN_FACTOR = 2;

export const showMetric = (value: number | undefined, unit: BaselineMetric['unit']) =>
  value === undefined
    ? 'none'
    : unit === 'us'
      ? fmtUs(value)
      : unit === 'rate'
        ? fmtRate(value)
        : unit === 'per_min'
          ? `${+value.toFixed(value >= 10 ? 0 : 1)}/min`
          : `${+value.toFixed(value >= 10 ? 0 : 1)}%`;

function change(before: number | undefined, now: number | undefined, unit: BaselineMetric['unit']): string {
  if (before === undefined) return 'new';
  if (now === undefined) return 'gone';
  if (unit === 'pct') {
    const d = now - before;
    return `${d >= 0 ? '+' : '−'}${+Math.abs(d).toFixed(1)} pts`;
  }
  if (before <= 0) return now > 0 ? 'new' : '×1';
  const ratio = now / before;
  return `×${ratio >= 10 ? Math.round(ratio) : +ratio.toFixed(ratio >= 1 ? 1 : 2)}`;
}

function severityOf(before: BaselineMetric, now: BaselineMetric): Severity | undefined {
  if (now.samples < (now.minSamples ?? MIN_SAMPLES)) return undefined;
  if (now.unit === 'per_min') return now.value > 0 && now.value >= PER_MIN_FACTOR * before.value ? 'warning' : undefined;
  if (now.unit === 'pct') return now.value - before.value >= SHARE_MIN_DELTA_PTS && now.value >= LATENCY_FACTOR * before.value ? 'warning' : undefined;
  if (now.unit === 'rate') {
    const more = now.value - before.value;
    if (now.value >= CRITICAL_FACTOR * before.value && more >= RATE_CRITICAL_DELTA) return 'critical';
    return now.value >= LATENCY_FACTOR * before.value && more >= RATE_MIN_DELTA ? 'warning' : undefined;
  }
  const delta = now.value - before.value;
  if (now.value >= CRITICAL_FACTOR * before.value && delta >= CRITICAL_DELTA_US) return 'critical';
  return now.value >= LATENCY_FACTOR * before.value && delta >= LATENCY_MIN_DELTA_US ? 'warning' : undefined;
}

/** The run's numbers beside each node's latest baseline. */
export async function compareRun(redis: RedisClient, run: RunRecord, metricsByNode: Map<string, BaselineMetric[]>): Promise<BaselineComparison> {
  const rows: BaselineRow[] = [];
  const missing: string[] = [];
  const nodes = Object.keys(run.nodes).sort();
  // Looked up together: one round trip's wait for a run over many nodes, not one per node.
  const baselines = await Promise.all(nodes.map((node) => latestBaseline(redis, run, node)));
  for (const [i, node] of nodes.entries()) {
    const baseline = baselines[i];
    if (!baseline) {
      missing.push(node);
      continue;
    }
    const current = new Map((metricsByNode.get(node) ?? []).map((m) => [m.metric, m]));
    const before = new Map(baseline.metrics.map((m) => [m.metric, m]));
    const nodeRows: BaselineRow[] = [];
    for (const metric of new Set([...before.keys(), ...current.keys()])) {
      const b = before.get(metric);
      const c = current.get(metric);
      const either = (b ?? c)!;
      const severity = b && c ? severityOf(b, c) : undefined;
      nodeRows.push({
        node,
        metric,
        capture: either.capture,
        unit: either.unit,
        baseline: showMetric(b?.value, either.unit),
        now: showMetric(c?.value, either.unit),
        change: change(b?.value, c?.value, either.unit),
        ...(b ? { baselineValue: b.value } : {}),
        ...(c ? { nowValue: c.value } : {}),
        baselineAt: baseline.at,
        baselineRunId: baseline.runId,
        baselineRunbook: baseline.runbook,
        ...(severity ? { regression: severity } : {}),
      });
    }
    // Regressions first, then the biggest moves.
    const moved = (r: BaselineRow) => (r.baselineValue && r.nowValue !== undefined ? Math.abs(Math.log(r.nowValue / r.baselineValue || 1e-9)) : 0);
    rows.push(...nodeRows.sort((x, y) => Number(!!y.regression) - Number(!!x.regression) || moved(y) - moved(x)));
  }
  return { runId: run.id, target: targetKey(run), rows, missing };
}

/** One finding per regressed row, worded like the report's table row. */
export function regressionFindings(cmp: BaselineComparison, run: RunRecord): Finding[] {
  const findings: Finding[] = [];
  for (const row of cmp.rows) {
    if (!row.regression || row.baselineValue === undefined || row.nowValue === undefined) continue;
    const ratio = row.baselineValue > 0 ? row.nowValue / row.baselineValue : row.nowValue;
    findings.push({
      id: `baseline:${row.node}:${row.metric}`,
      severity: row.regression,
      title: `${row.metric}: ${row.baseline} (baseline, ${fmtClock(row.baselineAt, run.createdAt)}) → ${row.now} (now), ${row.change}.`,
      node: row.node,
      capture: row.capture,
      evidence: {
        baseline: row.baseline,
        now: row.now,
        change: row.change,
        baselineRun: row.baselineRunId,
        baselineRunbook: row.baselineRunbook,
        baselineAt: row.baselineAt,
      },
      file: `nodes/${row.node}/${row.capture}.json`,
      score: Math.min(1e6, Math.round(ratio * 1000) / 1000),
    });
  }
  return findings;
}
