// tcpconnlat's baseline numbers: p99 connect latency per destination, the busiest 20.
import { objs, type Obj } from '../../analysis/common.js';
import { bucketsOf, p99Sample, totalOf } from '../../analysis/histogram.js';
import type { BaselineMetric } from '../../analysis/types.js';
import type { Log2Histogram } from '../histogram.js';

const MAX_DESTINATIONS = 20;

export function tcpconnlatBaseline(data: Obj): BaselineMetric[] {
  return objs(data.histograms)
    .map((h) => ({
      dest: String((h.labels as Obj | undefined)?.destination ?? '?'),
      h: h.histogram,
      n: totalOf(bucketsOf(h.histogram as Partial<Log2Histogram>)),
    }))
    .sort((a, b) => b.n - a.n)
    .slice(0, MAX_DESTINATIONS)
    .flatMap(({ dest, h }) => {
      const v = p99Sample(h);
      return v ? [{ metric: `p99 connect latency to ${dest}`, unit: 'us' as const, capture: 'tcpconnlat', ...v }] : [];
    });
}
