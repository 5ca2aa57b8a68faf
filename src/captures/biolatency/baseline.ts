// biolatency's baseline numbers: p99 block I/O latency per disk.
import { objs, type Obj } from '../../analysis/common.js';
import { p99Sample } from '../../analysis/histogram.js';
import type { BaselineMetric } from '../../analysis/types.js';

export function biolatencyBaseline(data: Obj): BaselineMetric[] {
  return objs(data.histograms).flatMap((h) => {
    const v = p99Sample(h.histogram);
    return v
      ? [{ metric: `p99 block I/O latency on ${String((h.labels as Obj | undefined)?.disk ?? '?')}`, unit: 'us' as const, capture: 'biolatency', ...v }]
      : [];
  });
}
