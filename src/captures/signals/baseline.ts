// signals' baseline numbers, zero included (a crash after a baseline without
// one is a regression): crashes (ends by a fault signal) and kills of one
// process by another, per minute.
import { num, objs, str, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';
import { CRASH_SIGNALS } from './analyze.js';

export function signalsBaseline(data: Obj): BaselineMetric[] {
  const events = objs(data.events);
  const minutes = Math.max(num(data.durationMs), 1) / 60_000;
  const crashes = events.filter((e) => e.kind === 'exit' && CRASH_SIGNALS.has(str(e.signal))).length;
  const kills = events.filter((e) => e.kind === 'signal' && str(e.signal) === 'SIGKILL' && num(e.pid) !== num(e.targetPid)).length;
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
