// dnslat's baseline numbers, per DNS server (the busiest 10): its p99 answer
// time, and the queries it left unanswered per minute (0 included).
import { num, objs, str, type Obj } from '../../analysis/common.js';
import type { BaselineMetric } from '../../analysis/types.js';
import { waitsOf } from './analyze.js';

const MAX_SERVERS = 10;

export function dnslatBaseline(data: Obj): BaselineMetric[] {
  const minutes = Math.max(num(data.durationMs), 1) / 60_000;
  const servers = new Map<string, { lookups: number; unanswered: number; waits: number[] }>();
  for (const r of objs(data.rows)) {
    const s = servers.get(str(r.server)) ?? { lookups: 0, unanswered: 0, waits: [] };
    s.lookups += num(r.queries);
    s.unanswered += num(r.unanswered) + num(r.waiting);
    s.waits.push(...waitsOf(r));
    servers.set(str(r.server), s);
  }
  return [...servers]
    .sort((a, b) => b[1].lookups - a[1].lookups)
    .slice(0, MAX_SERVERS)
    .flatMap(([server, s]) => {
      // The rows keep each one's longest waits: the p99 is among them while 1% of the lookups fit.
      const waits = s.waits.sort((a, b) => b - a);
      const rank = Math.ceil(s.lookups * 0.01);
      const p99 = rank <= waits.length ? waits[rank - 1] : undefined;
      return [
        ...(p99 !== undefined
          ? [{ metric: `p99 DNS answer time from ${server}`, unit: 'us' as const, capture: 'dnslat', value: p99 * 1000, samples: s.lookups }]
          : []),
        { metric: `unanswered DNS queries to ${server}`, unit: 'per_min' as const, capture: 'dnslat', value: s.unanswered / minutes, samples: s.unanswered },
      ];
    });
}
