// File and disk findings: hot files per process (filetop) and block I/O
// latency per disk (biolatency). opensnoop and tcplife feed the rules
// (rules.ts); alone they only count as checked.
import { latencySeverity, makeFinding, num, objs, str, type CaptureAnalysis, type CaptureContext, type Obj } from './common.js';
import { fmtBytes, fmtMs, fmtSeconds, fmtUs, plural, processLabel } from './format.js';
import { bucketsOf, quantile, totalOf } from './histogram.js';
import type { Finding } from './types.js';

const MAX_HOT_FILES = 5;

export function analyzeFiletop(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const window = Math.max(0.001, ctx.windowSeconds);
  const threshold = ctx.thresholds.hotFileBytesPerSecond;
  const hot: Finding[] = [];
  for (const r of rows) {
    // Sockets and pipes are network and IPC, seen by the network captures.
    if (r.kind === 'socket' || r.kind === 'pipe') continue;
    const read = num(r.readBytes);
    const written = num(r.writeBytes);
    const rate = (read + written) / window;
    if (rate < threshold || rate <= 0) continue;
    const path = str(r.path) || '?';
    const verb = written > read * 4 ? 'wrote' : read > written * 4 ? 'read' : 'read and wrote';
    const title =
      `${processLabel(r.comm, r.pid)} ${verb} ${path} at ${fmtBytes(rate)}/s (threshold ${fmtBytes(threshold)}/s): ` +
      `${fmtBytes(read)} read in ${plural(num(r.reads), 'call')}, ${fmtBytes(written)} written in ${plural(num(r.writes), 'call')} over ${fmtSeconds(window)}.`;
    hot.push(
      makeFinding(ctx, `file:${num(r.pid)}:${path}`, rate >= threshold * 5 ? 'critical' : 'warning', title, {
        pid: num(r.pid),
        comm: str(r.comm),
        path,
        kind: str(r.kind),
        bytesPerSecond: Math.round(rate),
        readBytes: read,
        writeBytes: written,
        reads: num(r.reads),
        writes: num(r.writes),
        thresholdBytesPerSecond: threshold,
      }, rate / Math.max(1, threshold)),
    );
  }
  hot.sort((a, b) => b.score - a.score);
  const bytes = rows.reduce((n, r) => n + num(r.readBytes) + num(r.writeBytes), 0);
  return { findings: hot.slice(0, MAX_HOT_FILES), checked: `file I/O (${fmtBytes(bytes)} over ${plural(num(data.totalFiles) || rows.length, 'file')})` };
}

const MIN_IOS = 10;

export function analyzeBiolatency(data: Obj, ctx: CaptureContext): CaptureAnalysis {
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
    findings.push(
      makeFinding(ctx, `disk:${disk}`, latencySeverity(p99, thresholdUs),
        `Block I/O on ${disk} takes ${fmtUs(p99)} at p99 (threshold ${fmtMs(thresholdMs)}) over ${plural(n, 'I/O')}, median ${fmtUs(quantile(buckets, 0.5))}: the disk is slow or saturated.`,
        { disk, ios: n, p50Ms: Math.round(quantile(buckets, 0.5)) / 1000, p99Ms: Math.round(p99) / 1000, thresholdMs, buckets: buckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })) },
        p99 / thresholdUs),
    );
  }
  return { findings, checked: `block I/O latency (${plural(ios, 'I/O')} on ${plural(histograms.length, 'disk')})` };
}

export function analyzeOpensnoop(data: Obj): CaptureAnalysis {
  const events = objs(data.events);
  return { findings: [], checked: `file opens (${plural(events.length, 'open')}, ${events.filter((e) => num(e.retval) < 0).length} failed)` };
}

export function analyzeTcplife(data: Obj): CaptureAnalysis {
  return { findings: [], checked: `TCP connections (${plural(objs(data.events).length, 'connection')} closed)` };
}
