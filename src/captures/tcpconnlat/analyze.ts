// tcpconnlat's checks: Slow and failed connects per destination.
import {
  addTo,
  latencySeverity,
  makeFinding,
  num,
  objs,
  str,
  timeImpact,
  whoOf,
  type CaptureAnalysis,
  type AnalysisContext,
  type Obj,
} from '../../analysis/common.js';
import { fmtCount, fmtMs, fmtPct, fmtUs, plural, round } from '../../format/index.js';
import { bucketsOf, countAbove, quantile, rangeAbove, restUpperBound, totalOf } from '../../analysis/histogram.js';
import type { Finding } from '../../analysis/types.js';
import { connectHit, type ConnectHit } from '../../analysis/rule-events.js';

/** What a failed connect costs its caller: a timed-out one its SYN timeouts (at least 1 s), a refused one a round trip and a retry (10 ms). */
const TIMED_OUT_COST_S = 1;
const REFUSED_COST_S = 0.01;

/** Time failed connects cost, at most every calling process busy with them the whole window. */
function failureImpact(byError: Map<string, number>, rows: Obj[], windowSeconds: number) {
  let seconds = 0;
  for (const [error, n] of byError) seconds += n * (error === 'ETIMEDOUT' || error === 'closed' ? TIMED_OUT_COST_S : REFUSED_COST_S);
  const callers = Math.max(1, new Set(rows.map((r) => num(r.pid)).filter(Boolean)).size);
  const capped = Math.min(seconds, callers * windowSeconds);
  const parts = [...byError].map(([e, n]) => `${fmtCount(n)} ${e} × ${e === 'ETIMEDOUT' || e === 'closed' ? '1 s' : '10 ms'}`).join(' + ');
  return timeImpact(capped, windowSeconds, `${parts}${capped < seconds ? `, at most ${plural(callers, 'caller')} busy the whole window` : ''}`, [
    'latency',
    'health',
  ]);
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

function analyzeTcpconnlat(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
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
        (restFast
          ? `the rest were fast (the other ${fmtCount(rest)} under ${fmtUs(restUnder)})`
          : `the other ${fmtCount(rest)} took up to ${fmtUs(restUnder)}`);
    }
    const title =
      `Connects from ${who} to ${destination} take ${fmtUs(p99)} at p99 (threshold ${fmtMs(thresholdMs)}): ${detail}` +
      (hint ? `; ${hint}` : '') +
      `; next: ${hint ? `where SYNs to port ${destination.split(':').pop()} are dropped (the listener's accept backlog, a firewall, packet loss on the path)` : `the server at ${destination} and the path to it`}.`;
    // Time lost: the slow connects' own latencies where each was recorded, else their count × a typical one.
    const typicalUs = slowLatencies.length ? slowLatencies.reduce((a, b) => a + b, 0) / slowLatencies.length : range ? (range.low + range.high) / 2 : p99;
    const lostUs = slowLatencies.length >= slow ? slowLatencies.reduce((a, b) => a + b, 0) : slow * typicalUs;
    const impact = timeImpact(
      lostUs / 1e6,
      ctx.windowSeconds,
      `${fmtCount(slow)} slow ${slow === 1 ? 'connect' : 'connects'} × ~${fmtUs(typicalUs)} = ${fmtUs(lostUs)} waited, ${fmtPct(slow / total)} of the connects`,
      ['latency'],
    );
    const port = destination.split(':').pop() ?? '?';
    const slowFinding = (f: Finding): Finding => ({
      ...f,
      cause: { key: `slow connects to port ${port}${hint ? ' (SYN retries)' : ''}`, subject: destination },
      ...(hint ? { links: { shows: [`syn-loss:${destination}`, `syn-loss-port:${port}`] } } : {}),
    });
    findings.push(
      slowFinding(
        makeFinding(
          ctx,
          `slow:${destination}`,
          latencySeverity(p99, thresholdUs),
          title,
          {
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
          },
          p99 / thresholdUs,
          impact,
        ),
      ),
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
    // Refused: the same refusal seen as packets to no socket (tcpdrop) and as resets taken and sent (tcpreset) becomes one finding.
    // Closed before connecting: also what a connect() that found no local port looks like here (syscallerrors explains it),
    // or one given up after its SYNs were lost (drops on the way, tcpdrop; ETIMEDOUT too).
    const pids = [...new Set(rows.map((r) => num(r.pid)).filter((p) => p > 0))];
    const links =
      main === 'ECONNREFUSED'
        ? { links: { shows: [`refused:${destination}`, `refused-rst:${destination}`, `refused-sent:${destination}`] } }
        : main === 'closed'
          ? { links: { shows: [...pids.map((p) => `closed-connect-pid:${p}`), `loss:${destination}`] } }
          : main === 'ETIMEDOUT'
            ? { links: { shows: [`loss:${destination}`] } }
            : {};
    findings.push({
      ...makeFinding(
        ctx,
        `failed:${destination}`,
        allFailed && count >= ctx.thresholds.connectFailures * 3 ? 'critical' : 'warning',
        title,
        {
          destination,
          failed: count,
          connected: completed,
          errors: Object.fromEntries(errors),
          threshold: ctx.thresholds.connectFailures,
          rows: rows.slice(0, 10),
        },
        count / Math.max(1, ctx.thresholds.connectFailures),
        failureImpact(byError, rows, ctx.windowSeconds),
      ),
      ...links,
    });
  }

  return {
    findings,
    checked: `connect latency (${plural(connects, 'connect')} to ${plural(destinations, 'destination')}${failedTotal ? `, ${fmtCount(failedTotal)} failed` : ''})`,
  };
}

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

/** tcpconnlat's connects: the slowest and failed ones by process, the rest by destination only. */
export function tcpconnlatConnects(data: Obj): ConnectHit[] {
  const hits: ConnectHit[] = [];
  const named = new Set<string>();
  for (const s of [...objs(data.slowest), ...objs(data.failures)]) {
    const d = str(s.destination);
    if (!d) continue;
    named.add(d);
    hits.push(connectHit(d, str(s.comm), num(s.pid), Math.max(1, num(s.count)), 'tcpconnlat'));
  }
  for (const h of objs(data.histograms)) {
    const d = str((h.labels as Obj | undefined)?.destination);
    if (d && !named.has(d)) hits.push(connectHit(d, '', 0, num((h.histogram as Obj | undefined)?.count) || 1, 'tcpconnlat'));
  }
  return hits;
}

export const tcpconnlatAnalysis = { checks: 'connect latency', analyze: analyzeTcpconnlat };
