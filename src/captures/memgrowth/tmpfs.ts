// tmpfs mounts filling up (/tmp on many distributions, /dev/shm, /run): their
// files live in memory (or swap) that no process's own memory shows, and a
// job writing into one takes the host's memory as surely as a leak, then
// fails with ENOSPC at the mount's size. Each mount of this mount namespace,
// read with statfs (a bind mount of one tmpfs counts once). Sherlock's own
// spool (the OS temp dir by default, a tmpfs on some distributions) is left out.
import { statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SPOOL_DIR_PREFIX } from '../event-spool.js';
import { parseMountInfo } from '../../util/mountinfo.js';
import { listDir, readText } from '../../util/read-text.js';
import { newTrack, step, trackRow, type Track } from './track.js';

export interface TmpfsRow extends ReturnType<typeof trackRow> {
  mount: string;
  /** Its filesystem's major:minor: what filetop's writers name (the link `writes-to:<device>`). */
  device: string;
  /** Its size (the most its files may hold). */
  sizeBytes: number;
}

/** Where tmpfs is mounted here, mount point to filesystem, one mount point per filesystem (the first seen). */
function tmpfsMounts(): Map<string, string> {
  const seen = new Set<string>();
  const mounts = new Map<string, string>();
  for (const m of parseMountInfo(readText('/proc/self/mountinfo') ?? '')) {
    if (m.fstype !== 'tmpfs' || seen.has(m.device)) continue;
    seen.add(m.device);
    mounts.set(m.mountPoint, m.device);
  }
  return mounts;
}

function usedAndSize(mount: string): { used: number; size: number } | undefined {
  try {
    const s = statfsSync(mount);
    if (!statSync(mount).isDirectory()) return undefined;
    return { used: (s.blocks - s.bfree) * s.bsize, size: s.blocks * s.bsize };
  } catch {
    return undefined; // unmounted since
  }
}

/** Bytes in the files of every run's spool directory beside `spoolDir` (runs at once share the root). */
function spoolBytes(spoolDir: string): number {
  const root = dirname(spoolDir);
  let n = 0;
  for (const run of listDir(root).filter((d) => d.startsWith(SPOOL_DIR_PREFIX)))
    for (const f of listDir(join(root, run))) n += statSync(join(root, run, f), { throwIfNoEntry: false })?.size ?? 0;
  return n;
}

export class TmpfsTracks {
  private readonly mounts = tmpfsMounts();
  private readonly tracks = new Map<string, Track & { size: number }>();
  /** The tmpfs holding Sherlock's own spool directory, if one does: its files are left out of that mount's bytes. */
  private readonly spoolMount: string | undefined;

  constructor(private readonly spoolDir?: string) {
    const holding = spoolDir ? [...this.mounts.keys()].filter((m) => spoolDir === m || spoolDir.startsWith(m.endsWith('/') ? m : `${m}/`)) : [];
    this.spoolMount = holding.sort((a, b) => b.length - a.length)[0];
  }

  read(now: bigint): void {
    for (const mount of this.mounts.keys()) {
      const u = usedAndSize(mount);
      if (!u) continue;
      if (mount === this.spoolMount) u.used = Math.max(0, u.used - spoolBytes(this.spoolDir!));
      const t = this.tracks.get(mount);
      if (t) {
        step(t, u.used, now);
        t.size = u.size;
      } else this.tracks.set(mount, { ...newTrack(u.used, now), size: u.size });
    }
  }

  /** Those that grew `minGrowth` bytes or more, the most first. */
  rows(minGrowth: number, top: number): TmpfsRow[] {
    return [...this.tracks]
      .filter(([, t]) => t.last - t.first >= minGrowth)
      .sort((a, b) => b[1].last - b[1].first - (a[1].last - a[1].first))
      .slice(0, top)
      .map(([mount, t]) => ({ mount, device: this.mounts.get(mount) ?? '', sizeBytes: t.size, ...trackRow(t) }));
  }

  get count(): number {
    return this.mounts.size;
  }
}
