// signals' baseline numbers, zero included (a crash after a baseline without
// one is a regression): crashes (ends by a fault signal) and kills of one
// process by another, per minute.
import { eventsOf, num, str, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';
import { CRASH_SIGNALS } from './analyze.js';

export function signalsBaseline(data: Obj): BaselineMetric[] {
  const minutes = Math.max(num(data.durationMs), 1) / 60_000;
  let crashes = 0;
  let kills = 0;
  for (const e of eventsOf(data)) {
    if (e.kind === 'exit' && CRASH_SIGNALS.has(str(e.signal))) crashes++;
    else if (e.kind === 'signal' && str(e.signal) === 'SIGKILL' && num(e.pid) !== num(e.targetPid)) kills++;
  }
  const metric = (name: string, n: number): BaselineMetric => ({
    metric: name,
    unit: 'per_min',
    capture: 'signals',
    value: n / minutes,
    samples: n,
    minSamples: 1,
  });
  return [metric('crashes (ends by a fault signal)', crashes), metric('SIGKILLs sent to other processes', kills)];
}
