// Network findings: slow and failed connects per destination (tcpconnlat),
// retransmit and reset hot spots (tcpretrans, tcpreset), high RTT (tcprtt).
import {
  addTo, addressOf, latencySeverity, makeFinding, num, objs, str, topKeys,
  type CaptureAnalysis, type CaptureContext, type Obj,
} from './common.js';
import { fmtCount, fmtMs, fmtPct, fmtSeconds, fmtUs, listText, plural, processLabel } from './format.js';
import { bucketsOf, countAbove, quantile, rangeAbove, restUpperBound, totalOf } from './histogram.js';
import type { Finding } from './types.js';

/** Processes named in rows (comm + pid), most frequent first: "nginx (pid 12)". */
function whoOf(rows: Obj[], fallback: string | undefined, weight: (r: Obj) => number = () => 1): string {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (!str(r.comm) && !num(r.pid)) continue;
    addTo(counts, processLabel(r.comm, r.pid), weight(r));
  }
  const names = topKeys(counts, 3);
  if (!names.length) return fallback ?? 'this host';
  return listText(names);
}

const ERRNO_MEANING: Record<string, string> = {
  ECONNREFUSED: 'refused: nothing listens there, or a firewall rejects',
  ETIMEDOUT: 'timed out: the SYNs got no answer',
  EHOSTUNREACH: 'host unreachable (ICMP)',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'reset by the peer during the handshake',
  closed: 'closed by the caller before they connected (it gave up)',
};

// The SYN retransmit timeouts: a dropped SYN costs 1 s, two cost 3 s.
const SYN_RETRY_WINDOWS: { low: number; high: number; text: string }[] = [
  { low: 900_000, high: 1_200_000, text: '~1 s is one dropped SYN retried after the 1 s timeout (packet loss, a firewall, or a full listen backlog)' },
  { low: 2_800_000, high: 3_400_000, text: '~3 s is two dropped SYNs (1 s + 2 s retransmit timeouts): packet loss, a firewall, or a full listen backlog' },
];

function synRetryHint(latenciesUs: number[], bucketRange: { low: number; high: number } | undefined): string | undefined {
  if (latenciesUs.length) {
    for (const w of SYN_RETRY_WINDOWS) if (latenciesUs.every((l) => l >= w.low && l <= w.high)) return w.text;
    return undefined;
  }
  if (!bucketRange) return undefined;
  // Buckets only: 2^19..2^20 µs holds ~1 s, 2^21..2^22 µs ~3 s.
  if (bucketRange.low >= 524_288 && bucketRange.high <= 1_048_576) return SYN_RETRY_WINDOWS[0]!.text;
  if (bucketRange.low >= 2_097_152 && bucketRange.high <= 4_194_304) return SYN_RETRY_WINDOWS[1]!.text;
  return undefined;
}

export function analyzeTcpconnlat(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const thresholdMs = ctx.thresholds.connectP99Ms;
  const thresholdUs = thresholdMs * 1000;
  const slowest = objs(data.slowest);
  const failures = objs(data.failures);
  let connects = 0;
  let destinations = 0;

  for (const h of objs(data.histograms)) {
    const destination = str((h.labels as Obj | undefined)?.destination) || '?';
    const buckets = bucketsOf(h.histogram as Obj);
    const total = totalOf(buckets);
    if (!total) continue;
    connects += total;
    destinations++;
    const p99 = quantile(buckets, 0.99);
    if (p99 <= thresholdUs) continue;

    const slowRows = slowest.filter((s) => s.destination === destination);
    const slow = Math.min(total, Math.round(countAbove(buckets, thresholdUs)));
    const rest = total - slow;
    const restUnder = restUpperBound(buckets, thresholdUs);
    const range = rangeAbove(buckets, thresholdUs);
    const slowLatencies = slowRows.map((s) => num(s.latencyUs)).filter((l) => l > thresholdUs);
    const hint = synRetryHint(slowLatencies, range);
    const who = whoOf(slowRows, ctx.targetLabel);
    const restFast = rest > 0 && restUnder <= thresholdUs / 2;

    let detail: string;
    if (rest <= 0) detail = `all ${fmtCount(total)} were slow`;
    else {
      const took = tookText(slowLatencies, range);
      detail =
        `${fmtCount(slow)} of ${fmtCount(total)} (${fmtPct(slow / total)}) took ${took}, ` +
        (restFast ? `the rest were fast (the other ${fmtCount(rest)} under ${fmtUs(restUnder)})` : `the other ${fmtCount(rest)} took up to ${fmtUs(restUnder)}`);
    }
    const title =
      `Connects from ${who} to ${destination} take ${fmtUs(p99)} at p99 (threshold ${fmtMs(thresholdMs)}): ${detail}` +
      (hint ? `; ${hint}.` : '.');
    findings.push(
      makeFinding(ctx, `slow:${destination}`, latencySeverity(p99, thresholdUs), title, {
        destination,
        connects: total,
        p50Ms: round(quantile(buckets, 0.5) / 1000),
        p99Ms: round(p99 / 1000),
        thresholdMs,
        slowConnects: slow,
        slowShare: round(slow / total),
        ...(range ? { slowRangeMs: [round(range.low / 1000), round(range.high / 1000)] } : {}),
        fastConnects: rest,
        ...(rest > 0 ? { fastUnderMs: round(restUnder / 1000), restWereFast: restFast } : {}),
        processes: who,
        ...(hint ? { hint } : {}),
        buckets: buckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })),
        slowest: slowRows.slice(0, 5),
        failures: failures.filter((f) => f.destination === destination),
      }, p99 / thresholdUs),
    );
  }

  // Failed connects, per destination.
  const failed = new Map<string, Obj[]>();
  for (const f of failures) {
    const d = str(f.destination) || '?';
    failed.set(d, [...(failed.get(d) ?? []), f]);
  }
  let failedTotal = 0;
  for (const [destination, rows] of failed) {
    const count = rows.reduce((n, r) => n + num(r.count), 0);
    failedTotal += count;
    if (count < ctx.thresholds.connectFailures || count <= 0) continue;
    const byError = new Map<string, number>();
    for (const r of rows) addTo(byError, str(r.error) || 'unknown', num(r.count));
    const errors = [...byError].sort((a, b) => b[1] - a[1]);
    const main = errors[0]![0];
    const completed = totalOf(bucketsOf(objs(data.histograms).find((h) => str((h.labels as Obj | undefined)?.destination) === destination)?.histogram as Obj));
    const title =
      `${plural(count, 'connect')} from ${whoOf(rows, ctx.targetLabel, (r) => num(r.count))} to ${destination} failed ` +
      `(${errors.map(([e, n]) => `${e} ×${fmtCount(n)}`).join(', ')}): ${ERRNO_MEANING[main] ?? main}` +
      (completed ? `; ${fmtCount(completed)} others connected.` : '.');
    const allFailed = completed === 0;
    findings.push(
      makeFinding(ctx, `failed:${destination}`, allFailed && count >= ctx.thresholds.connectFailures * 3 ? 'critical' : 'warning', title, {
        destination,
        failed: count,
        connected: completed,
        errors: Object.fromEntries(errors),
        threshold: ctx.thresholds.connectFailures,
        rows: rows.slice(0, 10),
      }, count / Math.max(1, ctx.thresholds.connectFailures)),
    );
  }

  return {
    findings,
    checked: `connect latency (${plural(connects, 'connect')} to ${plural(destinations, 'destination')}${failedTotal ? `, ${fmtCount(failedTotal)} failed` : ''})`,
  };
}

export function analyzeTcpretrans(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const threshold = ctx.thresholds.retransmitsPerFlow;
  const rows = objs(data.rows);
  // Short connections are a flow each: group by the far end (the listener's end for SYN-ACKs).
  const groups = new Map<string, { synack: boolean; endpoint: string; rows: Obj[]; retransmits: number; flows: Set<string>; states: Map<string, number> }>();
  let total = 0;
  for (const r of rows) {
    const synack = r.type === 'synack';
    const endpoint = str(synack ? r.local : r.remote) || '?';
    const key = `${synack ? 'synack' : 'segment'}:${endpoint}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { synack, endpoint, rows: [], retransmits: 0, flows: new Set(), states: new Map() }));
    const n = num(r.retransmits);
    total += n;
    g.rows.push(r);
    g.retransmits += n;
    g.flows.add(`${str(r.local)}>${str(r.remote)}`);
    addTo(g.states, str(r.state) || '?', n);
  }
  for (const g of groups.values()) {
    if (g.retransmits < threshold || g.retransmits <= 0) continue;
    const states = [...g.states].sort((a, b) => b[1] - a[1]);
    const synShare = (g.states.get('SYN_SENT') ?? 0) / g.retransmits;
    const why = g.synack
      ? 'handshakes with it lose packets, or clients went away'
      : synShare >= 0.5
        ? 'mostly SYNs: connects to it lose packets'
        : 'data segments: the path to it loses packets or the peer is slow to acknowledge';
    const who = whoOf(g.rows, ctx.targetLabel, (r) => num(r.retransmits));
    const title = g.synack
      ? `The listener on ${g.endpoint} retransmitted ${plural(g.retransmits, 'SYN-ACK')} to ${plural(g.flows.size, 'client')} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}): ${why}.`
      : `TCP from ${who} to ${g.endpoint} was retransmitted ${plural(g.retransmits, 'time')} over ${plural(g.flows.size, 'connection')} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}): ${why}.`;
    findings.push(
      makeFinding(ctx, `${g.synack ? 'synack' : 'remote'}:${g.endpoint}`, g.retransmits >= threshold * 10 ? 'critical' : 'warning', title, {
        endpoint: g.endpoint,
        type: g.synack ? 'synack' : 'segment',
        retransmits: g.retransmits,
        flows: g.flows.size,
        maxPerFlow: Math.max(...g.rows.map((r) => num(r.retransmits))),
        states: Object.fromEntries(states),
        threshold,
        rows: [...g.rows].sort((a, b) => num(b.retransmits) - num(a.retransmits)).slice(0, 10),
      }, g.retransmits / Math.max(1, threshold)),
    );
  }
  return { findings, checked: `retransmits (${fmtCount(total)} on ${plural(rows.length, 'flow')})` };
}

const RESET_REASON_MEANING: Record<string, string> = {
  NO_SOCKET: 'nothing listens on that port here',
  TCP_ABORT_ON_CLOSE: 'closed with unread data',
  TCP_ABORT_ON_LINGER: 'closed with SO_LINGER 0',
  TCP_ABORT_ON_MEMORY: 'out of socket memory',
  TCP_ABORT_ON_DATA: 'data after close',
};

export function analyzeTcpreset(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const threshold = ctx.thresholds.resetsPerFlow;
  const rows = objs(data.rows);
  // Received: per peer (its port is the service's). Sent: per local end and peer address (its port is ephemeral).
  const groups = new Map<string, { sent: boolean; local: string; remote: string; rows: Obj[]; count: number; states: Map<string, number>; reasons: Map<string, number> }>();
  for (const r of rows) {
    const sent = r.direction === 'sent';
    const local = str(r.local) || '?';
    const remote = sent ? addressOf(str(r.remote) || '?') : str(r.remote) || '?';
    const key = sent ? `sent:${local}>${remote}` : `received:${remote}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { sent, local, remote, rows: [], count: 0, states: new Map(), reasons: new Map() }));
    const n = num(r.count);
    g.rows.push(r);
    g.count += n;
    addTo(g.states, str(r.state) || '?', n);
    if (str(r.reason)) addTo(g.reasons, str(r.reason), n);
  }
  for (const [key, g] of groups) {
    if (g.count < threshold || g.count <= 0) continue;
    const states = topKeys(g.states, 2);
    const reasons = topKeys(g.reasons, 2);
    const who = whoOf(g.rows, ctx.targetLabel, (r) => num(r.count));
    const title = g.sent
      ? `This host sent ${plural(g.count, 'TCP reset')} from ${g.local} to ${g.remote} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold})` +
        (reasons.length ? `, ${reasons.map((r) => (RESET_REASON_MEANING[r] ? `${r}: ${RESET_REASON_MEANING[r]}` : r)).join('; ')}` : '') + '.'
      : `${capitalize(who)} got ${plural(g.count, 'TCP reset')} from ${g.remote} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}), in ${states.join(' and ')}: ` +
        (states[0] === 'SYN_SENT' ? 'the peer refuses the connects.' : 'the peer aborted the connections.');
    findings.push(
      makeFinding(ctx, key, g.count >= threshold * 10 ? 'critical' : 'warning', title, {
        direction: g.sent ? 'sent' : 'received',
        local: g.local,
        remote: g.remote,
        resets: g.count,
        states: Object.fromEntries(g.states),
        ...(g.reasons.size ? { reasons: Object.fromEntries(g.reasons) } : {}),
        threshold,
        rows: [...g.rows].sort((a, b) => num(b.count) - num(a.count)).slice(0, 10),
      }, g.count / Math.max(1, threshold)),
    );
  }
  return { findings, checked: `resets (${fmtCount(num(data.sent))} sent, ${fmtCount(num(data.received))} received)` };
}

const MIN_RTT_SAMPLES = 10;

export function analyzeTcprtt(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const thresholdMs = ctx.thresholds.rttP99Ms;
  let samples = 0;
  const histograms = objs(data.histograms);
  for (const h of histograms) {
    const remote = str((h.labels as Obj | undefined)?.remote) || '?';
    const buckets = bucketsOf(h.histogram as Obj);
    const total = totalOf(buckets);
    samples += total;
    if (total < MIN_RTT_SAMPLES) continue;
    const p99 = quantile(buckets, 0.99);
    if (p99 <= thresholdMs * 1000) continue;
    const title = `Round-trip time to ${remote} is ${fmtUs(p99)} at p99 (threshold ${fmtMs(thresholdMs)}) over ${plural(total, 'sample')}, median ${fmtUs(quantile(buckets, 0.5))}: the path or the peer is slow.`;
    findings.push(
      makeFinding(ctx, `rtt:${remote}`, latencySeverity(p99, thresholdMs * 1000), title, {
        remote,
        samples: total,
        p50Ms: round(quantile(buckets, 0.5) / 1000),
        p99Ms: round(p99 / 1000),
        thresholdMs,
        buckets: buckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })),
      }, p99 / (thresholdMs * 1000)),
    );
  }
  const overall = bucketsOf((data.overall as Obj | undefined) ?? undefined);
  return { findings, checked: `RTT (${plural(totalOf(overall) || samples, 'sample')} to ${plural(num(data.totalRemotes) || histograms.length, 'remote')})` };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "~1.00 s" when the slow ones agree within 20%, else their range (from the records, else the buckets). */
function tookText(latenciesUs: number[], range: { low: number; high: number } | undefined): string {
  if (latenciesUs.length) {
    const sorted = [...latenciesUs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    if (sorted[0]! >= median * 0.8 && sorted.at(-1)! <= median * 1.2) return `~${fmtUs(median)}`;
    return `${fmtUs(sorted[0]!)}–${fmtUs(sorted.at(-1)!)}`;
  }
  return range ? `${fmtUs(range.low)}–${fmtUs(range.high)}` : 'longer';
}
