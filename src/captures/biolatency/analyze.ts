// biolatency's checks: Block I/O latency per disk.
import { latencySeverity, makeFinding, objs, str, timeImpact, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtMs, fmtUs, plural } from '../../format/index.js';
import { bucketsOf, quantile, sumOf, totalOf } from '../../analysis/histogram.js';
import type { Finding } from '../../analysis/types.js';

const MIN_IOS = 10;

function analyzeBiolatency(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const thresholdMs = ctx.thresholds.bioP99Ms;
  const thresholdUs = thresholdMs * 1000;
  let ios = 0;
  const histograms = objs(data.histograms);
  for (const h of histograms) {
    const disk = str((h.labels as Obj | undefined)?.disk) || '?';
    const buckets = bucketsOf(h.histogram as Obj);
    const n = totalOf(buckets);
    ios += n;
    if (n < MIN_IOS) continue;
    const p99 = quantile(buckets, 0.99);
    if (p99 <= thresholdUs) continue;
    findings.push({
      ...makeFinding(
        ctx,
        `disk:${disk}`,
        latencySeverity(p99, thresholdUs),
        `Block I/O on ${disk} takes ${fmtUs(p99)} at p99 (threshold ${fmtMs(thresholdMs)}) over ${plural(n, 'I/O')}, median ${fmtUs(quantile(buckets, 0.5))}: the disk is slow or saturated.`,
        {
          disk,
          ios: n,
          p50Ms: Math.round(quantile(buckets, 0.5)) / 1000,
          p99Ms: Math.round(p99) / 1000,
          thresholdMs,
          buckets: buckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })),
        },
        p99 / thresholdUs,
        timeImpact(
          sumOf(h.histogram as Obj) / 1e6,
          ctx.windowSeconds,
          `${plural(n, 'I/O')} in flight ${(sumOf(h.histogram as Obj) / 1e6).toFixed(2)} s in all`,
          ['disk', 'latency'],
        ),
      ),
      // A disk kept busy by a process's reads or writes (iotop) is slow for everyone else: that process leads.
      links: { shows: [`disk-busy:${disk}`] },
    });
  }
  return { findings, checked: `block I/O latency (${plural(ios, 'I/O')} on ${plural(histograms.length, 'disk')})` };
}

export const biolatencyAnalysis = { checks: 'block I/O latency', analyze: analyzeBiolatency };
