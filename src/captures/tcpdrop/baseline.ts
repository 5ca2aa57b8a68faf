// What a baseline keeps from tcpdrop: drops per second, all together (kept at
// zero too, so drops that start later are a regression) and per reason.
import { num, objs, str, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';

const MAX_REASONS = 5;

export function tcpdropBaseline(data: Obj): BaselineMetric[] {
  const seconds = num(data.durationMs) / 1000;
  if (!seconds) return [];
  const byReason = new Map<string, number>();
  for (const r of objs(data.rows)) byReason.set(str(r.reason), (byReason.get(str(r.reason)) ?? 0) + num(r.drops));
  const total = [...byReason.values()].reduce((a, b) => a + b, 0);
  // samples: the drops behind the rate (a rate from a handful is not judged).
  return [
    { metric: 'packet drops per second', value: total / seconds, unit: 'rate', capture: 'tcpdrop', samples: total },
    ...[...byReason]
      .sort((a, b) => b[1] - a[1])
      .slice(0, MAX_REASONS)
      .map(
        ([reason, n]): BaselineMetric => ({ metric: `packet drops per second (${reason})`, value: n / seconds, unit: 'rate', capture: 'tcpdrop', samples: n }),
      ),
  ];
}
