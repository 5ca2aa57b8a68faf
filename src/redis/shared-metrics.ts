// Counters every Sherlock process adds to and the API's /metrics shows: two
// Redis hashes (keys.metrics for the API side, keys.workerMetrics for what
// workers push, so a worker's ACL user reaches no other), a field per series
// (JSON [family, labels]). Workers
// never listen on a port, so this is how their figures reach Prometheus; every
// API replica shows the same cluster-wide values (query them with max, not sum).
import type { RedisClient } from './connection.js';
import { createLogger } from '../util/logger.js';
import { keys } from './keys.js';
import { evalScript } from './scripts.js';

const log = createLogger({ component: 'metrics' });

export type MetricLabels = Record<string, string>;

/** The shared families: Prometheus type and help. A family not listed here is never shown. */
export const SHARED_FAMILIES = {
  sherlock_runs_started_total: { type: 'counter', help: 'Runs accepted, by runbook (ad-hoc: steps without a runbook)' },
  sherlock_runs_total: { type: 'counter', help: 'Runs that ended, by runbook and final status' },
  sherlock_node_jobs_total: { worker: true, type: 'counter', help: 'Node jobs workers finished, by node and status' },
  sherlock_captures_total: {
    worker: true,
    type: 'counter',
    help: 'Captures run by workers, by capture and outcome (completed, failed, skipped, cancelled, stopped over budget)',
  },
  sherlock_capture_duration_seconds: { worker: true, type: 'summary', help: 'Capture windows run by workers, attach to detach' },
  sherlock_capture_events_total: { worker: true, type: 'counter', help: 'Events or rows captures stored' },
  sherlock_capture_dropped_events_total: { worker: true, type: 'counter', help: 'Events captures dropped (ring buffer full, caps reached)' },
  sherlock_capture_bpf_cpu_seconds_total: { worker: true, type: 'counter', help: "CPU time in captures' BPF programs, as the kernel counts it" },
  sherlock_redactions_total: { worker: true, type: 'counter', help: 'Secrets redacted from capture results before they were stored' },
  sherlock_hook_deliveries_total: {
    type: 'counter',
    help: 'Incident webhook deliveries, by source and outcome (per alert; rejected: bad credentials or body)',
  },
  sherlock_chat_commands_total: {
    type: 'counter',
    help: 'Slash commands received, by outcome (answered at once, status, cancel, run; rejected: bad signature or replay)',
  },
  sherlock_chat_posts_total: { type: 'counter', help: 'Posts to chat response_urls (progress and results), by outcome' },
  sherlock_report_links_total: { type: 'counter', help: 'Signed report links opened, by outcome (served, expired, invalid)' },
} as const;

export type SharedFamily = keyof typeof SHARED_FAMILIES;

/** A summary's parts are stored as their own series: <family>_sum and <family>_count. */
export type SeriesName = SharedFamily | `${SharedFamily}_sum` | `${SharedFamily}_count`;

export interface SharedIncrement {
  name: SeriesName;
  labels: MetricLabels;
  by?: number;
}

export interface SharedSample {
  name: string;
  family: SharedFamily;
  labels: MetricLabels;
  value: number;
}

const fieldOf = (name: string, labels: MetricLabels) => JSON.stringify([name, labels]);
const familyOf = (name: SeriesName) => name.replace(/_(sum|count)$/, '') as SharedFamily;
const keyOf = (name: SeriesName) => ('worker' in SHARED_FAMILIES[familyOf(name)] ? keys.workerMetrics : keys.metrics);

/** Where a series is stored (hash key and field), for a writer that adds to it inside a script (queue/flow-batch.ts). */
export const seriesLocation = (name: SeriesName, labels: MetricLabels) => ({ key: keyOf(name), field: fieldOf(name, labels) });

/**
 * HINCRBYFLOAT for each (key index, field, amount) of ARGV: every counter of a node's job in one
 * command, where a transaction was two more (and ioredis's transaction path) per job.
 */
const ADD = `for i = 1, #ARGV, 3 do redis.call('HINCRBYFLOAT', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]) end`;

/** Adds to shared counters in one round trip. Never throws: a metric must not fail a run (a failure is logged). */
export async function addShared(redis: RedisClient, increments: readonly SharedIncrement[]): Promise<void> {
  const wanted = increments.filter((i) => (i.by ?? 1) !== 0);
  if (!wanted.length) return;
  const hashes: string[] = [];
  const args: (string | number)[] = [];
  for (const i of wanted) {
    const key = keyOf(i.name);
    if (!hashes.includes(key)) hashes.push(key);
    args.push(hashes.indexOf(key) + 1, fieldOf(i.name, i.labels), i.by ?? 1);
  }
  try {
    await evalScript(redis, ADD, hashes, args);
  } catch (err) {
    log.warn('shared metrics not recorded', { error: (err as Error).message });
  }
}

/** Every shared series of a known family (fields of older versions or unknown families are skipped). */
export async function readShared(redis: RedisClient): Promise<SharedSample[]> {
  const samples: SharedSample[] = [];
  const [api, workers] = await Promise.all([redis.hgetall(keys.metrics), redis.hgetall(keys.workerMetrics)]);
  for (const [field, value] of [...Object.entries(api), ...Object.entries(workers)]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(field);
    } catch {
      continue;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'object' || parsed[1] === null) continue;
    const name = parsed[0];
    const family = name.replace(/_(sum|count)$/, '');
    const known = Object.hasOwn(SHARED_FAMILIES, name) ? name : Object.hasOwn(SHARED_FAMILIES, family) ? family : undefined;
    if (!known) continue;
    const labels = Object.fromEntries(Object.entries(parsed[1] as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    samples.push({ name, family: known as SharedFamily, labels, value: Number(value) });
  }
  return samples;
}
