// tcprtt's checks: High smoothed RTT per remote.
import {
  addressOf,
  latencySeverity,
  makeFinding,
  num,
  objs,
  str,
  timeImpact,
  type CaptureAnalysis,
  type AnalysisContext,
  type Obj,
} from '../../analysis/common.js';
import { fmtMs, fmtUs, plural, round } from '../../format/index.js';
import { bucketsOf, quantile, totalOf } from '../../analysis/histogram.js';
import type { Finding } from '../../analysis/types.js';

const MIN_RTT_SAMPLES = 10;

function analyzeTcprtt(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
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
    findings.push({
      ...makeFinding(
        ctx,
        `rtt:${remote}`,
        latencySeverity(p99, thresholdMs * 1000),
        title,
        {
          remote,
          samples: total,
          p50Ms: round(quantile(buckets, 0.5) / 1000),
          p99Ms: round(p99 / 1000),
          thresholdMs,
          buckets: buckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })),
        },
        p99 / (thresholdMs * 1000),
        timeImpact((total * 0.01 * p99) / 1e6, ctx.windowSeconds, `the slowest 1% of ${plural(total, 'round trip')} at ~${fmtUs(p99)} each`, ['latency']),
      ),
      // A transfer filling the path to that address explains its round trips (tcpflow).
      links: { shows: [`path:${addressOf(remote)}`] },
    });
  }
  const overall = bucketsOf((data.overall as Obj | undefined) ?? undefined);
  return { findings, checked: `RTT (${plural(totalOf(overall) || samples, 'sample')} to ${plural(num(data.totalRemotes) || histograms.length, 'remote')})` };
}

export const tcprttAnalysis = { checks: 'RTT', analyze: analyzeTcprtt };
