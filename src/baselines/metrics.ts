// The numbers a baseline keeps from one node's capture results, chosen to be
// comparable between runs. Each capture says which (its `baseline`); small on
// purpose: one list of named values per node, kept for weeks in Redis.
import type { NodeResult } from '../captures/capture.js';
import type { BaselineMetric } from '../model/findings.js';
import { captures } from '../captures/registry.js';

/** The numbers a baseline keeps, from one node's capture results. */
export function summarize(results: NodeResult[]): BaselineMetric[] {
  const metrics: BaselineMetric[] = [];
  for (const r of results) {
    if (!('result' in r) || !r.result) continue;
    const baseline = captures.get(r.result.capture)?.baseline;
    if (baseline) metrics.push(...baseline(r.result as unknown as Record<string, unknown>));
  }
  return metrics;
}
