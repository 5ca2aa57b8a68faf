// syscallerrors' baseline number: failing calls per minute that are not
// normal behaviour (EAGAIN, PATH searches and probes left out), zero included.
import { num, objs, str, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';

export function syscallerrorsBaseline(data: Obj): BaselineMetric[] {
  const minutes = Math.max(num(data.durationMs), 1) / 60_000;
  const rows = objs(data.rows);
  // Totals count every row; the kept rows may be fewer (maxRows).
  const abnormal =
    'failures' in data ? num(data.failures) - num(data.normalFailures) : rows.filter((r) => !str(r.normal)).reduce((a, r) => a + num(r.count), 0);
  return [{ metric: 'failing system calls (not normal behaviour)', unit: 'per_min', capture: 'syscallerrors', value: abnormal / minutes, samples: abnormal }];
}
