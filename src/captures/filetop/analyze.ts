// filetop's checks: Hot files per process.
import { makeFinding, num, objs, str, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtSeconds, fmtBytes, plural, processLabel } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';

const MAX_HOT_FILES = 5;

function analyzeFiletop(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
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

export const filetopAnalysis = { checks: 'file I/O', analyze: analyzeFiletop };
