// tcpresponse's baseline numbers, per side (the busiest 10): the p99 answer
// time of an upstream or of a server's port, from its histogram.
import { num, objs, str } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';
import type { Obj } from '../../analysis/common.js';

const MAX_SIDES = 10;
/** A p99 from a log2 histogram (its bucket's upper bound) means something from this many answers. */
const MIN_ANSWERS = 100;

export function tcpresponseBaseline(data: Obj): BaselineMetric[] {
  return objs(data.rows)
    .filter((r) => num(r.answers) > 0)
    .sort((a, b) => num(b.answers) - num(a.answers))
    .slice(0, MAX_SIDES)
    .map((r) => ({
      metric: r.role === 'server' ? `p99 answer time of ${str(r.comm)} on port ${num(r.port)}` : `p99 answer time of ${str(r.peer)} to ${str(r.comm)}`,
      unit: 'us' as const,
      capture: 'tcpresponse',
      value: num(r.p99Ms) * 1000,
      samples: num(r.answers),
      minSamples: MIN_ANSWERS,
    }));
}
