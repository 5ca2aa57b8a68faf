// runqlat's baseline numbers: p99 run-queue latency of the whole host (or the one group).
import { objs, type Obj } from '../../analysis/common.js';
import { p99Sample } from '../../analysis/histogram.js';
import type { BaselineMetric } from '../../analysis/types.js';

export function runqlatBaseline(data: Obj): BaselineMetric[] {
  const hs = objs(data.histograms);
  const all = hs.find((h) => (h.labels as Obj | undefined)?.scope === 'all') ?? (hs.length === 1 ? hs[0] : undefined);
  const v = all ? p99Sample(all.histogram) : undefined;
  return v ? [{ metric: 'p99 run-queue latency', unit: 'us', capture: 'runqlat', ...v }] : [];
}
