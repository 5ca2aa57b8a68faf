// What every analyzer shares: the default thresholds, the context it runs in,
// the Finding it builds, and readers that take stored JSON as untrusted (a
// field of the wrong type reads as empty, never throws).
import { listText, processLabel } from '../format/index.js';
import type { Finding, Impact, Severity, Symptom, Thresholds } from './types.js';

export const DEFAULT_THRESHOLDS: Required<Thresholds> = {
  connectP99Ms: 100,
  connectFailures: 3,
  retransmitsPerFlow: 5,
  resetsPerFlow: 5,
  rttP99Ms: 200,
  cpuHotFunctionPct: 20,
  cpuBusyCores: 0.9,
  offcpuHotStackPct: 30,
  runqP99Ms: 10,
  execsPerSecondPerParent: 20,
  failedExecs: 3,
  hotFileBytesPerSecond: 20 * 1024 * 1024,
  bioP99Ms: 50,
  crashLoopExits: 3,
  failedCallsPerSecond: 10,
  dnsSlowMs: 200,
  responseSlowMs: 200,
};

/** A latency this many times over its threshold is critical, not a warning. */
export const CRITICAL_FACTOR = 5;

export const THRESHOLD_NAMES = Object.keys(DEFAULT_THRESHOLDS) as (keyof Thresholds)[];

/** Defaults, then each override in turn; non-numbers and negatives are ignored. */
export function mergeThresholds(...overrides: (Thresholds | undefined)[]): Required<Thresholds> {
  const merged = { ...DEFAULT_THRESHOLDS };
  for (const o of overrides) {
    if (!o || typeof o !== 'object') continue;
    for (const name of THRESHOLD_NAMES) {
      const v = (o as Record<string, unknown>)[name];
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) merged[name] = v;
    }
  }
  return merged;
}

/** Where and how one capture result is analyzed (not CollectContext, which its collector gets while running). */
export interface AnalysisContext {
  node: string;
  capture: string;
  /** Bundle path of the capture file: nodes/<node>/<capture>.json. */
  file: string;
  thresholds: Required<Thresholds>;
  /** Length of the capture window. */
  windowSeconds: number;
  /** Who the run looked at, for sentences whose data names no process ("checkout", "pid 42"). */
  targetLabel?: string;
  /** What the runbook is about, for a finding without a time impact to rank by (a full disk leads a disk or health run). */
  symptom?: Symptom;
}

export interface CaptureAnalysis {
  findings: Finding[];
  /** What was looked at, for "No problems found": "connect latency (9 connects to 1 destination)". */
  checked: string;
}

export type CaptureAnalyzer = (data: Record<string, unknown>, ctx: AnalysisContext) => CaptureAnalysis;

export const fileOf = (node: string, capture: string) => `nodes/${node}/${capture}.json`;

export function makeFinding(
  ctx: Pick<AnalysisContext, 'node' | 'capture' | 'file'>,
  key: string,
  severity: Severity,
  title: string,
  evidence: Record<string, unknown>,
  score: number,
  impact?: Impact,
): Finding {
  return {
    id: `${ctx.capture}:${ctx.node}:${key}`,
    severity,
    title,
    node: ctx.node,
    capture: ctx.capture,
    evidence,
    file: ctx.file,
    score: scoreOf(score),
    ...(impact ? { impact } : {}),
  };
}

/** An impact in seconds per second of window (see Impact): `seconds` lost or used over `windowSeconds`. */
export function timeImpact(seconds: number, windowSeconds: number, basis: string, bears: Symptom[]): Impact {
  const value = seconds / Math.max(0.001, windowSeconds);
  return { value: Number.isFinite(value) && value > 0 ? Math.round(value * 1e4) / 1e4 : 0, unit: 's/s', basis, bears };
}

/** Finite, 3 decimals, capped: a score from absurd data must still sort. */
function scoreOf(score: number): number {
  if (!Number.isFinite(score) || score <= 0) return 0;
  return score >= 1e9 ? 1e9 : Math.round(score * 1000) / 1000;
}

/** Warning over the threshold, critical at CRITICAL_FACTOR times it. */
export const latencySeverity = (value: number, threshold: number): Severity => (value >= threshold * CRITICAL_FACTOR ? 'critical' : 'warning');

// ---- reading untrusted JSON ----------------------------------------------

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const objs = (v: unknown): Obj[] => arr(v).filter(isObj);
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/**
 * An events-kind result's events: in memory (`events`), or spooled on disk
 * (`eventSpool`, a worker's run: src/captures/event-spool.ts), read from the
 * file as it is iterated. Each loop over it is one streaming pass; never
 * turn it into an array.
 */
export function eventsOf(data: Obj): Iterable<Obj> {
  const spool = data.eventSpool;
  if (!spool || typeof spool !== 'object' || !(Symbol.iterator in spool)) return objs(data.events);
  return {
    *[Symbol.iterator]() {
      for (const v of spool as Iterable<unknown>) if (isObj(v)) yield v;
    },
  };
}

/** Distinct keys an analyzer aggregates events under (per parent, program, error...); past it, new keys are counted, not kept. */
export const MAX_EVENT_GROUPS = 10_000;

/** Aggregates per key with at most MAX_EVENT_GROUPS keys; `overflow` counts the events of keys not kept. */
export class BoundedGroups<G> {
  readonly map = new Map<string, G>();
  overflow = 0;
  constructor(private readonly make: () => G) {}
  /** The key's group, or undefined (counted) once the cap is reached. */
  get(key: string): G | undefined {
    let g = this.map.get(key);
    if (g) return g;
    if (this.map.size >= MAX_EVENT_GROUPS) return void this.overflow++;
    this.map.set(key, (g = this.make()));
    return g;
  }
}

/** The length of a union of intervals [from, to]: time covered by any of them (parallel ones count once). */
export function unionLength(intervals: [number, number][]): number {
  let total = 0;
  let reach = -Infinity;
  for (const [a, b] of [...intervals].sort((x, y) => x[0] - y[0])) {
    if (b <= reach) continue;
    total += b - Math.max(a, reach);
    reach = b;
  }
  return total;
}

/** Adds `value` under `key` in a map of sums. */
export function addTo<K>(map: Map<K, number>, key: K, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

/** Entries by value, largest first. */
export const topEntries = <K>(map: Map<K, number>, n = Infinity): [K, number][] => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);

/** Keys by value, largest first. */
export const topKeys = <K>(map: Map<K, number>, n = 3): K[] => topEntries(map, n).map(([k]) => k);

/** "ip:port" → "ip" (IPv6 "[::1]:80" → "::1"). */
export function addressOf(endpoint: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(endpoint);
  if (m) return m[1]!;
  const i = endpoint.lastIndexOf(':');
  return i > 0 && endpoint.indexOf(':') === i ? endpoint.slice(0, i) : endpoint;
}

/** A loopback address, or an endpoint on one ("127.0.0.1:80", "[::1]:80", an IPv4-mapped 127.x): no wire between its ends. */
export function isLoopback(endpointOrAddress: string): boolean {
  const address = addressOf(endpointOrAddress).replace(/^::ffff:(?=\d+\.)/, '');
  return address.startsWith('127.') || address === '::1';
}

/** "ip:port" → port, or undefined. */
export function portOf(endpoint: string): number | undefined {
  const m = /:(\d+)$/.exec(endpoint);
  return m ? Number(m[1]) : undefined;
}

/** Processes named in rows (comm + pid), most frequent first: "nginx (pid 12)". */
export function whoOf(rows: Obj[], fallback: string | undefined, weight: (r: Obj) => number = () => 1): string {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (!str(r.comm) && !num(r.pid)) continue;
    addTo(counts, processLabel(r.comm, r.pid), weight(r));
  }
  const names = topKeys(counts, 3);
  if (!names.length) return fallback ?? 'this host';
  return listText(names);
}
