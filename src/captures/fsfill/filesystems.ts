// The filesystems that fill: disks (a block device's: ext4, xfs, btrfs, ...)
// and tmpfs (/tmp on many distributions, /dev/shm, /run), whose files live in
// memory that no process's own memory shows; full of bytes, or of inodes
// (many small files: sessions, a mail queue, a cache). Each of this mount
// namespace's, once (a bind mount counts once), read with statfs; then those
// only other mount namespaces have (a container's own /dev/shm, 64 MiB under
// Docker), read through one of their processes' /proc/PID/root. Network and FUSE
// filesystems are left out: a statfs of a hung NFS server blocks. Read-only
// ones cannot fill. Sherlock's own spool (the OS temp dir by default) is left
// out of the bytes of the filesystem that holds it.
import { statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DeletedOpen } from '../deleted-open-files.js';
import { SPOOL_DIR_PREFIX } from '../event-spool.js';
import { newTrack, step, trackRow, type Track } from '../growth-track.js';
import { parseMountInfo, visibleMounts, type MountInfo } from '../../util/mountinfo.js';
import { listDir, readText } from '../../util/read-text.js';
import { allPids } from '../target-processes.js';

/** Mount namespaces other than ours looked into, and filesystems read in all: a bound on a host of many containers. */
const MAX_NAMESPACES = 256;
const MAX_FILESYSTEMS = 1024;

export type FilesystemKind = 'disk' | 'tmpfs';

export interface FilesystemRow extends ReturnType<typeof trackRow> {
  mount: string;
  kind: FilesystemKind;
  /** Its type (ext4, xfs, tmpfs) and what is mounted (/dev/vda1). */
  fstype: string;
  source: string;
  /** major:minor: what filetop's writers name (the link `writes-to:<device>`). */
  device: string;
  /** Mounted only in another mount namespace (a container's): a process of it, through whose root it was read. */
  namespaceOf?: { pid: number; comm: string };
  /** Its size, and the bytes a process without root may still write (a disk keeps a reserve for root). */
  sizeBytes: number;
  availableBytes: number;
  /** Its inodes (a file or directory each), when it has a fixed number (btrfs has none): the other way to be full. */
  inodes?: InodeRow;
  /** Files on it deleted but still open, when the window ended: space du does not show, back only when they are closed. */
  deletedOpen?: DeletedOpen;
}

/** A filesystem with little room left when the window ended, growing or not. */
export interface FullRow {
  mount: string;
  namespaceOf?: { pid: number; comm: string };
  kind: FilesystemKind;
  fstype: string;
  source: string;
  device: string;
  sizeBytes: number;
  /** In use (df's Used), and what a process without root may still write (df's Avail). */
  usedBytes: number;
  availableBytes: number;
  inodes?: { total: number; free: number };
  deletedOpen?: DeletedOpen;
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
  /** What statfs reads: the mount point, or it through a process of another mount namespace. */
  path: string;
  namespaceOf?: { pid: number; comm: string };
}

/** A disk's filesystem, a tmpfs, or neither (proc, cgroup, overlay, nfs, fuse, a read-only one). */
function kindOf(m: MountInfo): FilesystemKind | undefined {
  if (/(^|,)ro(,|$)/.test(m.superOptions)) return undefined;
  if (m.fstype === 'tmpfs') return 'tmpfs';
  return m.source.startsWith('/dev/') && !m.fstype.startsWith('fuse') ? 'disk' : undefined;
}

/** Where each filesystem is mounted (the first mount point seen of each, not one mounted over): here, then in other mount namespaces. */
function filesystems(): Mounted[] {
  const seen = new Set<string>();
  const out: Mounted[] = [];
  const add = (mountinfo: string, namespaceOf?: { pid: number; comm: string }) => {
    for (const info of visibleMounts(parseMountInfo(mountinfo))) {
      const kind = kindOf(info);
      if (!kind || seen.has(info.device) || out.length >= MAX_FILESYSTEMS) continue;
      seen.add(info.device);
      const path = namespaceOf ? `/proc/${namespaceOf.pid}/root${info.mountPoint}` : info.mountPoint;
      out.push({ mount: info.mountPoint, kind, info, path, ...(namespaceOf ? { namespaceOf } : {}) });
    }
  };
  add(readText('/proc/self/mountinfo') ?? '');
  const namespaces = new Set([mountNamespace('self')]);
  for (const pid of allPids()) {
    if (namespaces.size > MAX_NAMESPACES) break;
    const ns = mountNamespace(String(pid));
    if (ns === undefined || namespaces.has(ns)) continue;
    namespaces.add(ns);
    add(readText(`/proc/${pid}/mountinfo`) ?? '', { pid, comm: readText(`/proc/${pid}/comm`)?.trim() ?? '?' });
  }
  return out;
}

/** The mount namespace a process is in (its inode), undefined once it is gone. */
function mountNamespace(pid: string): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/mnt`).ino;
  } catch {
    return undefined;
  }
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
  /** By device (two namespaces may each have their own /dev/shm). */
  private readonly tracks = new Map<string, FilesystemTrack>();
  /** The filesystem (of this namespace) holding Sherlock's own spool directory: its files are left out of that one's bytes. */
  private readonly spoolDevice: string | undefined;

  constructor(private readonly spoolDir?: string) {
    const holding = spoolDir ? this.mounted.filter((m) => !m.namespaceOf && under(spoolDir, m.mount)) : [];
    this.spoolDevice = holding.sort((a, b) => b.mount.length - a.mount.length)[0]?.info.device;
  }

  read(now: bigint): void {
    for (const { info, path } of this.mounted) {
      const device = info.device;
      const u = usage(path);
      if (!u) continue;
      if (device === this.spoolDevice) {
        const spool = spoolBytes(this.spoolDir!);
        u.used = Math.max(0, u.used - spool);
        u.available += spool;
      }
      const t = this.tracks.get(device);
      if (!t) {
        const inodes = u.inodes && { ...newTrack(u.inodes.used, now), free: u.inodes.free };
        this.tracks.set(device, { bytes: newTrack(u.used, now), size: u.size, available: u.available, ...(inodes ? { inodes } : {}) });
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
    const grew = (t: Track) => t.last - t.first;
    const soon = (t: FilesystemTrack) => Math.min(t.available / Math.max(1, grew(t.bytes)), t.inodes ? t.inodes.free / Math.max(1, grew(t.inodes)) : Infinity);
    return [...this.tracks]
      .filter(([, t]) => grew(t.bytes) >= minGrowth || (t.inodes !== undefined && grew(t.inodes) >= minInodes))
      .sort((a, b) => soon(a[1]) - soon(b[1]))
      .slice(0, top)
      .map(([device, t]) => {
        const i = t.inodes;
        return {
          ...this.described(device, t),
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

  /** Those with less than `share` of their bytes or inodes left when last read, growing or not, the least left first (at most `top`). */
  nearlyFull(share: number, top: number): FullRow[] {
    const left = (t: FilesystemTrack) =>
      Math.min(t.size ? t.available / t.size : 1, t.inodes && t.inodes.last + t.inodes.free > 0 ? t.inodes.free / (t.inodes.last + t.inodes.free) : 1);
    return [...this.tracks]
      .filter(([, t]) => t.size > 0 && left(t) < share)
      .sort((a, b) => left(a[1]) - left(b[1]))
      .slice(0, top)
      .map(([device, t]) => ({
        ...this.described(device, t),
        usedBytes: t.bytes.last,
        ...(t.inodes ? { inodes: { total: t.inodes.last + t.inodes.free, free: t.inodes.free } } : {}),
      }));
  }

  /** What a row says of the filesystem itself: where it is mounted, what it is, its size and room. */
  private described(device: string, t: FilesystemTrack) {
    const m = this.mounted.find((x) => x.info.device === device)!;
    return {
      mount: m.mount,
      ...(m.namespaceOf ? { namespaceOf: m.namespaceOf } : {}),
      kind: m.kind,
      fstype: m.info.fstype,
      source: m.info.source,
      device,
      sizeBytes: t.size,
      availableBytes: t.available,
    };
  }

  get count(): number {
    return this.mounted.length;
  }
}
