// filetop's checks: hot files per process, and who wrote to each filesystem (writers.ts: a cause only).
import { makeFinding, num, objs, str, timeImpact, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtSeconds, fmtBytes, plural, processLabel } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';
import { writerFindings } from './writers.js';

/** Disk time the bytes would take at a common SSD's sustained rate: what turns bytes into seconds. */
const NOMINAL_DISK_BYTES_PER_SECOND = 100 * 1024 * 1024;

const MAX_HOT_FILES = 5;

function analyzeFiletop(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const window = Math.max(0.001, ctx.windowSeconds);
  const threshold = ctx.thresholds.hotFileBytesPerSecond;
  const hot: Finding[] = [];
  for (const r of rows) {
    // Sockets and pipes are network and IPC, seen by the network captures; character devices (/dev/zero, a tty) hold no storage.
    if (r.kind === 'socket' || r.kind === 'pipe' || r.kind === 'chardev') continue;
    const read = num(r.readBytes);
    const written = num(r.writeBytes);
    const rate = (read + written) / window;
    if (rate < threshold || rate <= 0) continue;
    const path = str(r.path) || '?';
    const verb = written > read * 4 ? 'wrote' : read > written * 4 ? 'read' : 'read and wrote';
    const title =
      `${processLabel(r.comm, r.pid)} ${verb} ${path} at ${fmtBytes(rate)}/s (threshold ${fmtBytes(threshold)}/s): ` +
      `${fmtBytes(read)} read in ${plural(num(r.reads), 'call')}, ${fmtBytes(written)} written in ${plural(num(r.writes), 'call')} over ${fmtSeconds(window)}; ` +
      `next: why ${str(r.comm) || 'it'} ${verb === 'read' ? 'reads' : 'writes'} it this fast (its code path, or a loop), and the disk's latency (disk-io).`;
    const busy = (read + written) / NOMINAL_DISK_BYTES_PER_SECOND;
    const impact = timeImpact(
      busy,
      window,
      `${fmtBytes(rate)}/s is ${(busy / window).toFixed(2)} s/s of a disk at a nominal ${fmtBytes(NOMINAL_DISK_BYTES_PER_SECOND)}/s`,
      ['disk'],
    );
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : path;
    hot.push({
      ...makeFinding(
        ctx,
        `file:${num(r.pid)}:${path}`,
        impact.value >= 0.5 ? 'critical' : 'warning',
        title,
        {
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
        },
        rate / Math.max(1, threshold),
        impact,
      ),
      cause: { key: `${str(r.comm) || '?'} ${verb} files under ${dir}`, subject: `${path} (pid ${num(r.pid)})` },
      // Its reads reach the disk because its memory thrashes, when reclaim found it thrashing (that finding leads);
      // the disk it keeps busy (iotop) is the same I/O seen from the disk, which says what it did to others. iotop counts
      // a job that ended for the script that ran it (a parent's /proc/PID/io holds its reaped children's): its parent's too.
      links: {
        shows: [
          ...(verb === 'read' ? [`file-reads-pid:${num(r.pid)}`] : []),
          `disk-user-pid:${num(r.pid)}`,
          ...(num(r.ppid) > 1 ? [`disk-user-pid:${num(r.ppid)}`] : []),
        ],
      },
    });
  }
  hot.sort((a, b) => b.score - a.score);
  const bytes = rows.reduce((n, r) => n + num(r.readBytes) + num(r.writeBytes), 0);
  return {
    findings: [...hot.slice(0, MAX_HOT_FILES), ...writerFindings(data, ctx)],
    checked: `file I/O (${fmtBytes(bytes)} over ${plural(num(data.totalFiles) || rows.length, 'file')})`,
  };
}

export const filetopAnalysis = { checks: 'file I/O', analyze: analyzeFiletop };
