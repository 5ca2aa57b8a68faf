// The numbers a baseline keeps from one node's capture results, chosen to be
// comparable between runs: p99 connect latency per destination, the top CPU
// functions' share, run-queue and block I/O p99. Small on purpose: one list
// of named values per node, kept for weeks in Redis.
import type { NodeResult } from '../analysis/analyze.js';
import { bucketsOf, quantile, totalOf } from '../analysis/histogram.js';
import type { Log2Histogram } from '../captures/histogram.js';
import { captures } from '../captures/registry.js';

const MAX_DESTINATIONS = 20;
const TOP_FUNCTIONS = 5;

export interface BaselineMetric {
  metric: string;
  value: number;
  /** us: latency; pct: a share (of CPU, of the window); rate: events per second. */
  unit: 'us' | 'pct' | 'rate';
  /** The capture it comes from (for links to its section and file). */
  capture: string;
  /** Samples behind the value (histogram entries, profile samples): few make a noisy number. */
  samples: number;
}

type Obj = Record<string, unknown>;
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x): x is Obj => !!x && typeof x === 'object') : []);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** p99 and the sample count of a stored histogram; undefined when it is empty. */
const p99 = (h: unknown): { value: number; samples: number } | undefined => {
  const b = bucketsOf(h as Partial<Log2Histogram>);
  const samples = totalOf(b);
  return samples ? { value: quantile(b, 0.99), samples } : undefined;
};

/** The numbers a baseline keeps, from one node's capture results. */
export function summarize(results: NodeResult[]): BaselineMetric[] {
  const metrics: BaselineMetric[] = [];
  for (const r of results) {
    if (!('result' in r) || !r.result) continue;
    const data = r.result as unknown as Obj;
    switch (r.result.capture) {
      case 'tcpconnlat': {
        const hs = objs(data.histograms)
          .map((h) => ({ dest: String((h.labels as Obj | undefined)?.destination ?? '?'), h: h.histogram, n: totalOf(bucketsOf(h.histogram as Partial<Log2Histogram>)) }))
          .sort((a, b) => b.n - a.n)
          .slice(0, MAX_DESTINATIONS);
        for (const { dest, h } of hs) {
          const v = p99(h);
          if (v) metrics.push({ metric: `p99 connect latency to ${dest}`, unit: 'us', capture: r.result.capture, ...v });
        }
        break;
      }
      case 'runqlat': {
        const hs = objs(data.histograms);
        const all = hs.find((h) => (h.labels as Obj | undefined)?.scope === 'all') ?? (hs.length === 1 ? hs[0] : undefined);
        const v = all ? p99(all.histogram) : undefined;
        if (v) metrics.push({ metric: 'p99 run-queue latency', unit: 'us', capture: r.result.capture, ...v });
        break;
      }
      case 'biolatency':
        for (const h of objs(data.histograms)) {
          const v = p99(h.histogram);
          if (v) metrics.push({ metric: `p99 block I/O latency on ${String((h.labels as Obj | undefined)?.disk ?? '?')}`, unit: 'us', capture: r.result.capture, ...v });
        }
        break;
      case 'profile': {
        const stacks = objs(data.stacks);
        const total = num(data.total) || stacks.reduce((n, s) => n + num(s.value), 0);
        if (!total) break;
        const self = new Map<string, number>();
        for (const s of stacks) {
          const frames = objs(s.frames);
          const leaf = frames.at(-1);
          if (!leaf) continue;
          const name = String(leaf.name ?? '?');
          self.set(name, (self.get(name) ?? 0) + num(s.value));
        }
        for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP_FUNCTIONS)) {
          metrics.push({ metric: `CPU share of ${name}`, value: (n / total) * 100, unit: 'pct', capture: 'profile', samples: total });
        }
        break;
      }
      default:
        // A capture that carries its own baseline numbers.
        metrics.push(...(captures.get(r.result.capture)?.baseline?.(data) ?? []));
    }
  }
  return metrics;
}

