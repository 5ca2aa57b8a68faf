// profile's baseline numbers: the CPU share of the 5 hottest functions (self time).
import { num, objs, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';

const TOP_FUNCTIONS = 5;

export function profileBaseline(data: Obj): BaselineMetric[] {
  const stacks = objs(data.stacks);
  const total = num(data.total) || stacks.reduce((n, s) => n + num(s.value), 0);
  if (!total) return [];
  const self = new Map<string, number>();
  for (const s of stacks) {
    const leaf = objs(s.frames).at(-1);
    if (!leaf) continue;
    const name = String(leaf.name ?? '?');
    self.set(name, (self.get(name) ?? 0) + num(s.value));
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_FUNCTIONS)
    .map(([name, n]) => ({ metric: `CPU share of ${name}`, value: (n / total) * 100, unit: 'pct' as const, capture: 'profile', samples: total }));
}
