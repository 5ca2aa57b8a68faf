// Who wrote to each filesystem, over all its files: a filesystem seen filling
// (a tmpfs, by memgrowth) names the process that filled it through the link
// `writes-to:<major:minor>`. A job spooling into /dev/shm writes many files a
// little each, so no one file is hot; together they are the cause.
// Told only as a cause: writing is no problem of its own.
import { makeFinding, num, str, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtPct, fmtSeconds, listText, plural, processLabel } from '../../format/index.js';

/** Filesystems told (the most written first). */
const MAX_DEVICES = 10;

interface Writer {
  pid: number;
  comm: string;
  bytes: number;
  files: number;
  paths: string[];
}

/** The directory every one of these holds its files under ("/" at worst). */
function commonDir(dirs: string[]): string {
  const parts = dirs.map((d) => d.split('/'));
  const common: string[] = [];
  for (let i = 0; parts.every((p) => i < p.length && p[i] === parts[0]![i]); i++) common.push(parts[0]![i]!);
  return common.join('/') || '/';
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/';

/** A finding per filesystem written to, naming its largest writer (and the next ones, with their shares). */
export function writerFindings(rows: Obj[], ctx: AnalysisContext): Finding[] {
  const byDevice = new Map<string, Map<number, Writer>>();
  for (const r of rows) {
    const bytes = num(r.writeBytes);
    const path = str(r.path);
    if (r.kind !== 'file' || bytes <= 0 || !path.startsWith('/') || !str(r.dev)) continue;
    const writers = byDevice.get(str(r.dev)) ?? new Map<number, Writer>();
    byDevice.set(str(r.dev), writers);
    const w = writers.get(num(r.pid)) ?? { pid: num(r.pid), comm: str(r.comm), bytes: 0, files: 0, paths: [] };
    writers.set(w.pid, w);
    w.bytes += bytes;
    w.files += 1;
    w.paths.push(path);
  }
  const window = Math.max(0.001, ctx.windowSeconds);
  const devices = [...byDevice].map(([device, writers]) => {
    const sorted = [...writers.values()].sort((a, b) => b.bytes - a.bytes);
    return { device, sorted, total: sorted.reduce((n, w) => n + w.bytes, 0) };
  });
  return devices
    .sort((a, b) => b.total - a.total)
    .slice(0, MAX_DEVICES)
    .map(({ device, sorted, total }) => {
      const [top, ...rest] = sorted as [Writer, ...Writer[]];
      const dir = commonDir(top.paths.map(dirOf));
      const where = top.files === 1 ? top.paths[0]! : `${plural(top.files, 'file')} under ${dir}`;
      const share = top.bytes / total;
      const others = rest.slice(0, 2).map((w) => `${processLabel(w.comm, w.pid)} ${fmtPct(w.bytes / total)}`);
      const title =
        `${processLabel(top.comm, top.pid)} wrote ${fmtBytes(top.bytes)} to ${where} over ${fmtSeconds(window)} ` +
        `(${fmtBytes(top.bytes / window)}/s${share < 0.95 ? `, ${fmtPct(share)} of the writes to that filesystem` : ''})` +
        (others.length ? `; the rest by ${listText(others, 2)}` : '');
      const finding = makeFinding(
        ctx,
        `writer:${device}`,
        'info',
        title,
        {
          pid: top.pid,
          comm: top.comm,
          device,
          dir,
          writeBytes: top.bytes,
          files: top.files,
          bytesPerSecond: Math.round(top.bytes / window),
          shareOfWrites: Math.round(share * 1e4) / 1e4,
          others: rest.slice(0, 5).map((w) => ({ pid: w.pid, comm: w.comm, writeBytes: w.bytes })),
        },
        share,
      );
      // A cause only: what fills a filesystem (memgrowth's tmpfs) shows this link.
      finding.links = { explains: [`writes-to:${device}`], onlyAsCause: true };
      return finding;
    });
}
