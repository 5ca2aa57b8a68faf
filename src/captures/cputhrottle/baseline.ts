// What a baseline keeps from cputhrottle: the share of the window each
// throttled cgroup lost, and the host's total (kept even when it is zero, so
// throttling that starts later shows as a regression against a quiet baseline).
import { num, objs, str, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';

const MAX_CGROUPS = 10;

export function cputhrottleBaseline(data: Obj): BaselineMetric[] {
  const rows = objs(data.rows);
  const windowUs = num(data.windowUs);
  if (!windowUs) return [];
  const periods = rows.reduce((n, r) => n + num(r.periods), 0);
  const metrics: BaselineMetric[] = [
    {
      metric: 'CPU throttled time, all cgroups (share of the window)',
      value: (rows.reduce((n, r) => n + num(r.throttledUs), 0) / windowUs) * 100,
      unit: 'pct',
      capture: 'cputhrottle',
      samples: periods,
    },
  ];
  for (const r of rows.filter((r) => num(r.throttledUs) > 0).slice(0, MAX_CGROUPS)) {
    metrics.push({
      metric: `CPU throttled time of cgroup ${str(r.cgroup)} (share of the window)`,
      value: (num(r.throttledUs) / windowUs) * 100,
      unit: 'pct',
      capture: 'cputhrottle',
      samples: num(r.periods),
    });
  }
  return metrics;
}
