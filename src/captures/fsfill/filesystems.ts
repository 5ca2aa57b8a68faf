// The filesystems that fill: disks (a block device's: ext4, xfs, btrfs, ...)
// and tmpfs (/tmp on many distributions, /dev/shm, /run), whose files live in
// memory that no process's own memory shows; full of bytes, or of inodes
// (many small files: sessions, a mail queue, a cache). Each of this mount
// namespace's, once (a bind mount counts once), read with statfs. Network and FUSE
// filesystems are left out: a statfs of a hung NFS server blocks. Read-only
// ones cannot fill. Sherlock's own spool (the OS temp dir by default) is left
// out of the bytes of the filesystem that holds it.
import { statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SPOOL_DIR_PREFIX } from '../event-spool.js';
import { newTrack, step, trackRow, type Track } from '../growth-track.js';
import { parseMountInfo, type MountInfo } from '../../util/mountinfo.js';
import { listDir, readText } from '../../util/read-text.js';

export type FilesystemKind = 'disk' | 'tmpfs';

export interface FilesystemRow extends ReturnType<typeof trackRow> {
  mount: string;
  kind: FilesystemKind;
  /** Its type (ext4, xfs, tmpfs) and what is mounted (/dev/vda1). */
  fstype: string;
  source: string;
  /** major:minor: what filetop's writers name (the link `writes-to:<device>`). */
  device: string;
  /** Its size, and the bytes a process without root may still write (a disk keeps a reserve for root). */
  sizeBytes: number;
  availableBytes: number;
  /** Its inodes (a file or directory each), when it has a fixed number (btrfs has none): the other way to be full. */
  inodes?: InodeRow;
}

export interface InodeRow {
  first: number;
  last: number;
  peak: number;
  total: number;
  free: number;
  samples: number;
  rises: number;
  falls: number;
}

/** One filesystem's readings: its used bytes, and its inodes in use when it has a fixed number. */
interface FilesystemTrack {
  bytes: Track;
  size: number;
  available: number;
  inodes?: Track & { free: number };
}

interface Mounted {
  mount: string;
  kind: FilesystemKind;
  info: MountInfo;
}

/** A disk's filesystem, a tmpfs, or neither (proc, cgroup, overlay, nfs, fuse, a read-only one). */
function kindOf(m: MountInfo): FilesystemKind | undefined {
  if (/(^|,)ro(,|$)/.test(m.superOptions)) return undefined;
  if (m.fstype === 'tmpfs') return 'tmpfs';
  return m.source.startsWith('/dev/') && !m.fstype.startsWith('fuse') ? 'disk' : undefined;
}

/** Where each filesystem is mounted here (the first mount point seen of each). */
function filesystems(): Mounted[] {
  const seen = new Set<string>();
  const out: Mounted[] = [];
  for (const info of parseMountInfo(readText('/proc/self/mountinfo') ?? '')) {
    const kind = kindOf(info);
    if (!kind || seen.has(info.device)) continue;
    seen.add(info.device);
    out.push({ mount: info.mountPoint, kind, info });
  }
  return out;
}

interface Usage {
  used: number;
  size: number;
  available: number;
  /** Inodes: those in use, and free; none when the filesystem has no fixed number. */
  inodes?: { used: number; free: number };
}

function usage(mount: string): Usage | undefined {
  try {
    const s = statfsSync(mount);
    if (!statSync(mount).isDirectory()) return undefined;
    return {
      used: (s.blocks - s.bfree) * s.bsize,
      size: s.blocks * s.bsize,
      available: s.bavail * s.bsize,
      ...(s.files > 0 ? { inodes: { used: s.files - s.ffree, free: s.ffree } } : {}),
    };
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

const under = (path: string, mount: string) => path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);

export class FilesystemTracks {
  private readonly mounted = filesystems();
  private readonly tracks = new Map<string, FilesystemTrack>();
  /** The filesystem holding Sherlock's own spool directory: its files are left out of that one's bytes. */
  private readonly spoolMount: string | undefined;

  constructor(private readonly spoolDir?: string) {
    const holding = spoolDir ? this.mounted.filter((m) => under(spoolDir, m.mount)) : [];
    this.spoolMount = holding.sort((a, b) => b.mount.length - a.mount.length)[0]?.mount;
  }

  read(now: bigint): void {
    for (const { mount } of this.mounted) {
      const u = usage(mount);
      if (!u) continue;
      if (mount === this.spoolMount) {
        const spool = spoolBytes(this.spoolDir!);
        u.used = Math.max(0, u.used - spool);
        u.available += spool;
      }
      const t = this.tracks.get(mount);
      if (!t) {
        const inodes = u.inodes && { ...newTrack(u.inodes.used, now), free: u.inodes.free };
        this.tracks.set(mount, { bytes: newTrack(u.used, now), size: u.size, available: u.available, ...(inodes ? { inodes } : {}) });
        continue;
      }
      step(t.bytes, u.used, now);
      Object.assign(t, { size: u.size, available: u.available });
      if (t.inodes && u.inodes) {
        step(t.inodes, u.inodes.used, now);
        t.inodes.free = u.inodes.free;
      }
    }
  }

  /** Those that grew `minGrowth` bytes or `minInodes` inodes or more, the fullest soonest first (the least room left for its growth). */
  rows(minGrowth: number, minInodes: number, top: number): FilesystemRow[] {
    const byMount = new Map(this.mounted.map((m) => [m.mount, m]));
    const grew = (t: Track) => t.last - t.first;
    const soon = (t: FilesystemTrack) => Math.min(t.available / Math.max(1, grew(t.bytes)), t.inodes ? t.inodes.free / Math.max(1, grew(t.inodes)) : Infinity);
    return [...this.tracks]
      .filter(([, t]) => grew(t.bytes) >= minGrowth || (t.inodes !== undefined && grew(t.inodes) >= minInodes))
      .sort((a, b) => soon(a[1]) - soon(b[1]))
      .slice(0, top)
      .map(([mount, t]) => {
        const m = byMount.get(mount)!;
        const i = t.inodes;
        return {
          mount,
          kind: m.kind,
          fstype: m.info.fstype,
          source: m.info.source,
          device: m.info.device,
          sizeBytes: t.size,
          availableBytes: t.available,
          ...trackRow(t.bytes),
          ...(i
            ? {
                inodes: {
                  first: i.first,
                  last: i.last,
                  peak: i.peak,
                  total: i.last + i.free,
                  free: i.free,
                  samples: i.samples,
                  rises: i.rises,
                  falls: i.falls,
                },
              }
            : {}),
        };
      });
  }

  get count(): number {
    return this.mounted.length;
  }
}
