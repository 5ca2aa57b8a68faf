// What a baseline keeps from lockwait: time on contended locks as a share of
// the window, all processes (kept at zero too) and per command name (lock
// addresses move between runs; command names do not).
import { num, objs, str, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';

const MAX_COMMANDS = 5;

export function lockwaitBaseline(data: Obj): BaselineMetric[] {
  const windowUs = num(data.durationMs) * 1000;
  if (!windowUs) return [];
  const mutex = objs(data.locks).filter((l) => str(l.kind) === 'mutex');
  const byComm = new Map<string, { us: number; waits: number }>();
  for (const l of mutex) {
    const c = byComm.get(str(l.comm)) ?? { us: 0, waits: 0 };
    c.us += num(l.totalUs);
    c.waits += num(l.waits);
    byComm.set(str(l.comm), c);
  }
  const total = [...byComm.values()].reduce((a, c) => ({ us: a.us + c.us, waits: a.waits + c.waits }), { us: 0, waits: 0 });
  return [
    {
      metric: 'lock wait time, all processes (share of the window)',
      value: (total.us / windowUs) * 100,
      unit: 'pct',
      capture: 'lockwait',
      samples: total.waits,
    },
    ...[...byComm]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, MAX_COMMANDS)
      .map(
        ([comm, c]): BaselineMetric => ({
          metric: `lock wait time of ${comm} (share of the window)`,
          value: (c.us / windowUs) * 100,
          unit: 'pct',
          capture: 'lockwait',
          samples: c.waits,
        }),
      ),
  ];
}
