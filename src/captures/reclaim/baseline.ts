// reclaim's baseline number: memory reclaim stalls per minute, zero included,
// so stalls on a host whose baseline saw none (or twice as many) are a regression.
import { isObj, num, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';

export function reclaimBaseline(data: Obj): BaselineMetric[] {
  const stalls = isObj(data.histogram) ? num(data.histogram.count) : 0;
  const minutes = Math.max(num(data.durationMs), 1) / 60_000;
  return [{ metric: 'memory reclaim stalls', unit: 'per_min', capture: 'reclaim', value: stalls / minutes, samples: stalls }];
}
