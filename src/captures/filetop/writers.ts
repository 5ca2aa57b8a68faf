// Who wrote to each filesystem, over all its files: a filesystem seen filling
// (a disk or a tmpfs, by fsfill) names the process that filled it through the
// link `writes-to:<major:minor>`. A job spooling into /dev/shm writes many
// files a little each, so no one file is hot; together they are the cause.
// Summed when the capture ends, over every file counted (the rows keep only
// the most bytes); told only as a cause: writing is no problem of its own.
import { makeFinding, num, objs, str, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtPct, fmtSeconds, listText, plural, processLabel } from '../../format/index.js';

/** Filesystems kept (the most written first), and writers of each. */
const MAX_DEVICES = 10;
const MAX_WRITERS = 5;

export interface Writer {
  pid: number;
  comm: string;
  writeBytes: number;
  files: number;
  /** The directory all its files there are under, or its one file. */
  dir: string;
  file?: string;
}

export interface FilesystemWriters {
  /** major:minor, as fsfill names the filesystem. */
  device: string;
  /** Written there by every process. */
  writeBytes: number;
  /** The most first. */
  writers: Writer[];
}

interface WrittenFile {
  pid: number;
  comm: string;
  path: string;
  kind: string;
  writeBytes: number;
  dev: string;
}

/** The directory every one of these holds its files under ("/" at worst). */
function commonDir(dirs: string[]): string {
  const parts = dirs.map((d) => d.split('/'));
  const common: string[] = [];
  for (let i = 0; parts.every((p) => i < p.length && p[i] === parts[0]![i]); i++) common.push(parts[0]![i]!);
  return common.join('/') || '/';
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/';

/** Each filesystem's writers, from every (process, file) counted. */
export function writersByFilesystem(files: WrittenFile[]): FilesystemWriters[] {
  const byDevice = new Map<string, Map<number, { pid: number; comm: string; writeBytes: number; paths: string[] }>>();
  for (const f of files) {
    if (f.kind !== 'file' || f.writeBytes <= 0 || !f.path.startsWith('/') || !f.dev) continue;
    const writers = byDevice.get(f.dev) ?? new Map();
    byDevice.set(f.dev, writers);
    const w = writers.get(f.pid) ?? { pid: f.pid, comm: f.comm, writeBytes: 0, paths: [] };
    writers.set(f.pid, w);
    w.writeBytes += f.writeBytes;
    w.paths.push(f.path);
  }
  return [...byDevice]
    .map(([device, writers]) => {
      const sorted = [...writers.values()].sort((a, b) => b.writeBytes - a.writeBytes);
      return {
        device,
        writeBytes: sorted.reduce((n, w) => n + w.writeBytes, 0),
        writers: sorted.slice(0, MAX_WRITERS).map(({ paths, ...w }) => ({
          ...w,
          files: paths.length,
          dir: commonDir(paths.map(dirOf)),
          ...(paths.length === 1 ? { file: paths[0]! } : {}),
        })),
      };
    })
    .sort((a, b) => b.writeBytes - a.writeBytes)
    .slice(0, MAX_DEVICES);
}

/** A finding per filesystem written to, naming its largest writer (and the next ones, with their shares). */
export function writerFindings(data: Obj, ctx: AnalysisContext): Finding[] {
  // Older results have no `writers`: their rows (the most bytes only) are what there is.
  const filesystems = Array.isArray(data.writers)
    ? (data.writers as FilesystemWriters[])
    : writersByFilesystem(
        objs(data.rows).map((r) => ({
          pid: num(r.pid),
          comm: str(r.comm),
          path: str(r.path),
          kind: str(r.kind),
          writeBytes: num(r.writeBytes),
          dev: str(r.dev),
        })),
      );
  const window = Math.max(0.001, ctx.windowSeconds);
  return filesystems.flatMap(({ device, writeBytes: total, writers }) => {
    const [top, ...rest] = writers;
    if (!top) return [];
    const share = top.writeBytes / total;
    const where = top.file ?? `${plural(top.files, 'file')} under ${top.dir}`;
    const others = rest.slice(0, 2).map((w) => `${processLabel(w.comm, w.pid)} ${fmtPct(w.writeBytes / total)}`);
    const title =
      `${processLabel(top.comm, top.pid)} wrote ${fmtBytes(top.writeBytes)} to ${where} over ${fmtSeconds(window)} ` +
      `(${fmtBytes(top.writeBytes / window)}/s${share < 0.95 ? `, ${fmtPct(share)} of the writes to that filesystem` : ''})` +
      (others.length ? `; the rest by ${listText(others, 2)}` : '');
    const finding = makeFinding(
      ctx,
      `writer:${device}`,
      'info',
      title,
      { ...top, device, bytesPerSecond: Math.round(top.writeBytes / window), shareOfWrites: Math.round(share * 1e4) / 1e4, others: rest },
      share,
    );
    // A cause only: a filesystem filling (fsfill's) shows this link.
    finding.links = { explains: [`writes-to:${device}`], onlyAsCause: true };
    return [finding];
  });
}
