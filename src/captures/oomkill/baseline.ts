// oomkill's baseline number: OOM kills per minute, zero included, so a kill
// after a baseline that saw none is a regression.
import { objs, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';

export function oomkillBaseline(data: Obj): BaselineMetric[] {
  const kills = objs(data.events).length;
  const minutes = Math.max(Number(data.durationMs) || 0, 1) / 60_000;
  return [{ metric: 'OOM kills', unit: 'per_min', capture: 'oomkill', value: kills / minutes, samples: kills, minSamples: 1 }];
}
