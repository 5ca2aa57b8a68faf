// The one order of findings: by severity, then by impact on the symptom the
// runbook is about (Finding.score), then node and id. A finding with a time
// impact is at most as severe as that impact on the symptom makes it, however
// many events it counts: critical needs CRITICAL_IMPACT (half a thread or CPU
// over the window), warning WARNING_IMPACT (2%), below that it is info.
// Security rule hits keep their rule's severity; findings without an impact
// (a node that failed, a baseline regression) keep theirs.
import type { Finding, Impact, Severity, Symptom } from './types.js';

export const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Seconds per second on the symptom from which a finding is critical, and a warning. */
export const CRITICAL_IMPACT = 0.5;
export const WARNING_IMPACT = 0.02;
/** How much a finding counts on a symptom it does not bear on directly. */
export const INDIRECT_WEIGHT = 0.25;
/** A rule hit's weight in s/s, by the rule's severity (security runbooks rank rules first). */
const HIT_WEIGHT: Record<Severity, number> = { critical: 10, warning: 1, info: 0.05 };

const isImpact = (v: unknown): v is Impact =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Impact).value === 'number' &&
  Number.isFinite((v as Impact).value) &&
  typeof (v as Impact).unit === 'string';

/** A dropped SYN costs its sender the 1 s SYN timeout; another dropped packet at least the 200 ms minimum RTO. */
const DROPPED_SYN_S = 1;
const DROPPED_PACKET_S = 0.2;

/**
 * The finding's impact: its own field, or `evidence.impact` (captures that
 * only fill evidence): an Impact, or the shapes the cause captures use,
 * `{windowShareLost, lostMs}` (time lost, summed over threads or CPUs: s/s as
 * is) and `{dropsPerSecond, drops}` (each drop a retransmit's wait).
 */
export function impactOf(f: Finding): Impact | undefined {
  if (isImpact(f.impact)) return f.impact;
  const raw = (f.evidence as { impact?: unknown } | undefined)?.impact as Record<string, unknown> | undefined;
  if (isImpact(raw)) return { ...raw, bears: Array.isArray(raw.bears) ? raw.bears : [] };
  if (!raw || typeof raw !== 'object') return undefined;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  if (typeof raw.windowShareLost === 'number') {
    return {
      value: round(n(raw.windowShareLost)),
      unit: 's/s',
      basis: `${round(n(raw.lostMs))} ms lost over the window, summed over threads or CPUs`,
      bears: ['latency', 'cpu'],
    };
  }
  if (typeof raw.dropsPerSecond === 'number') {
    const syn = /LISTEN|SYN/.test(String(f.evidence.reason ?? ''));
    const each = syn ? DROPPED_SYN_S : DROPPED_PACKET_S;
    return {
      value: round(n(raw.dropsPerSecond) * each),
      unit: 's/s',
      basis: `${n(raw.drops)} drops × ${syn ? '1 s (a SYN retried)' : '200 ms (a retransmit)'}`,
      bears: ['latency'],
    };
  }
  return undefined;
}

/** Impact on `symptom`, in s/s (rule hits weighed by severity). */
export function impactOn(f: Finding, symptom: Symptom): number | undefined {
  const impact = impactOf(f);
  if (!impact) return undefined;
  const direct = symptom === 'health' || impact.bears.includes(symptom);
  const weight = direct ? 1 : INDIRECT_WEIGHT;
  const value = impact.unit === 'hits' ? Math.min(impact.value, 10) * (HIT_WEIGHT[f.severity] ?? 0) : impact.value;
  return Math.max(0, value) * weight;
}

/** Scores every finding by its impact on `symptom`, caps severities by it, and sorts (in place, returned). */
export function rankFindings(findings: Finding[], symptom: Symptom = 'health'): Finding[] {
  for (const f of findings) {
    const on = impactOn(f, symptom);
    if (on === undefined) continue;
    f.score = round(on);
    if (impactOf(f)!.unit !== 's/s') continue;
    const allowed: Severity = on >= CRITICAL_IMPACT ? 'critical' : on >= WARNING_IMPACT ? 'warning' : 'info';
    if ((SEVERITY_ORDER[f.severity] ?? 3) < SEVERITY_ORDER[allowed]) f.severity = allowed;
  }
  return sortFindings(findings);
}

/** The order alone, for findings already scored (merging stored parts, adding regressions). */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) =>
      (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3) ||
      (b.score ?? 0) - (a.score ?? 0) ||
      String(a.node).localeCompare(String(b.node)) ||
      String(a.id).localeCompare(String(b.id)),
  );
}

const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 1e4) / 1e4 : 0);
