// Baselines: a scheduled health-check run that completes leaves, per node and
// target, a small summary of its numbers (p99 connect latency per destination,
// the top CPU functions' share, run-queue and block I/O p99) in Redis. Any
// later run on that node is compared with the latest one.
import type { Redis } from 'ioredis';
import type { NodeResult } from '../analysis/analyze.js';
import { fmtUs } from '../analysis/format.js';
import { bucketsOf, quantile, totalOf } from '../analysis/histogram.js';
import type { Log2Histogram } from '../captures/histogram.js';
import { loadRunResults } from '../runs/findings.js';
import type { RunRecord } from '../runs/types.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ component: 'baselines' });

export const BASELINE_RUNBOOK = 'health-check';
const KEEP = 10;
const TTL_SECONDS = 30 * 24 * 3600;
const MAX_DESTINATIONS = 20;
const TOP_FUNCTIONS = 5;

export interface BaselineMetric {
  metric: string;
  value: number;
  unit: 'us' | 'pct';
}

export interface Baseline {
  runId: string;
  node: string;
  target: string;
  at: string;
  metrics: BaselineMetric[];
}

export interface BaselineRow {
  node: string;
  metric: string;
  baseline: string;
  baselineAt: string;
  baselineRunId: string;
  now: string;
  baselineValue?: number;
  nowValue?: number;
  unit: 'us' | 'pct';
}

/** The run's target as a key part: "all" or its fields, sorted. */
export function targetKey(run: RunRecord): string {
  const t = (run.plan.target ?? {}) as Record<string, unknown>;
  const parts = Object.keys(t).sort().filter((k) => t[k] !== undefined).map((k) => `${k}=${JSON.stringify(t[k])}`);
  return parts.length ? parts.join(',') : 'all';
}

const baselineKey = (node: string, target: string) => `sherlock:baseline:${node}:${target}`;

/** Is this run a baseline: the health-check runbook, started by a schedule? */
export function isBaselineRun(run: RunRecord): boolean {
  return run.plan.runbook === BASELINE_RUNBOOK && run.requestedBy.startsWith('schedule:');
}

type Obj = Record<string, unknown>;
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x): x is Obj => !!x && typeof x === 'object') : []);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const p99 = (h: unknown) => {
  const b = bucketsOf(h as Partial<Log2Histogram>);
  return totalOf(b) ? quantile(b, 0.99) : undefined;
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
          if (v !== undefined) metrics.push({ metric: `p99 connect latency to ${dest}`, value: v, unit: 'us' });
        }
        break;
      }
      case 'runqlat': {
        const hs = objs(data.histograms);
        const all = hs.find((h) => (h.labels as Obj | undefined)?.scope === 'all') ?? (hs.length === 1 ? hs[0] : undefined);
        const v = all ? p99(all.histogram) : undefined;
        if (v !== undefined) metrics.push({ metric: 'p99 run-queue latency', value: v, unit: 'us' });
        break;
      }
      case 'biolatency':
        for (const h of objs(data.histograms)) {
          const v = p99(h.histogram);
          if (v !== undefined) metrics.push({ metric: `p99 block I/O latency on ${String((h.labels as Obj | undefined)?.disk ?? '?')}`, value: v, unit: 'us' });
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
          metrics.push({ metric: `CPU share of ${name}`, value: (n / total) * 100, unit: 'pct' });
        }
        break;
      }
    }
  }
  return metrics;
}

async function summarizeRun(redis: Redis, run: RunRecord): Promise<Map<string, BaselineMetric[]>> {
  const byNode = new Map<string, NodeResult[]>();
  for (const r of await loadRunResults(redis, run)) byNode.set(r.node, [...(byNode.get(r.node) ?? []), r]);
  return new Map([...byNode].map(([node, results]) => [node, summarize(results)]));
}

/** Records a finished baseline run's summary per node; never throws (logged). */
export async function recordBaseline(redis: Redis, run: RunRecord): Promise<void> {
  try {
    const target = targetKey(run);
    const at = run.finishedAt ?? new Date().toISOString();
    for (const [node, metrics] of await summarizeRun(redis, run)) {
      if (run.nodes[node]?.status !== 'completed') continue;
      const baseline: Baseline = { runId: run.id, node, target, at, metrics };
      const key = baselineKey(node, target);
      await redis.multi().lpush(key, JSON.stringify(baseline)).ltrim(key, 0, KEEP - 1).expire(key, TTL_SECONDS).exec();
    }
  } catch (err) {
    log.warn('baseline not recorded', { runId: run.id, error: (err as Error).message });
  }
}

/** The newest baseline of node+target recorded before `before` from another run. */
export async function latestBaseline(redis: Redis, node: string, target: string, excludeRunId: string, before: string): Promise<Baseline | undefined> {
  for (const text of await redis.lrange(baselineKey(node, target), 0, KEEP - 1)) {
    try {
      const b = JSON.parse(text) as Baseline;
      if (b.runId !== excludeRunId && b.at <= before) return b;
    } catch {
      // a corrupt entry: skip it
    }
  }
  return undefined;
}

const show = (m: BaselineMetric | undefined) => (!m ? 'none' : m.unit === 'us' ? fmtUs(m.value) : `${+m.value.toFixed(1)}%`);

/** The run's numbers beside its nodes' latest baselines; `missing` lists nodes that have none. */
export async function compareWithBaseline(redis: Redis, run: RunRecord): Promise<{ rows: BaselineRow[]; missing: string[] }> {
  const target = targetKey(run);
  const now = await summarizeRun(redis, run);
  const rows: BaselineRow[] = [];
  const missing: string[] = [];
  for (const node of Object.keys(run.nodes).sort()) {
    const baseline = await latestBaseline(redis, node, target, run.id, run.createdAt);
    if (!baseline) {
      missing.push(node);
      continue;
    }
    const current = new Map((now.get(node) ?? []).map((m) => [m.metric, m]));
    const before = new Map(baseline.metrics.map((m) => [m.metric, m]));
    for (const metric of new Set([...before.keys(), ...current.keys()])) {
      const b = before.get(metric);
      const c = current.get(metric);
      rows.push({
        node,
        metric,
        baseline: show(b),
        baselineAt: baseline.at,
        baselineRunId: baseline.runId,
        now: show(c),
        ...(b ? { baselineValue: b.value } : {}),
        ...(c ? { nowValue: c.value } : {}),
        unit: (b ?? c)!.unit,
      });
    }
  }
  return { rows, missing };
}
