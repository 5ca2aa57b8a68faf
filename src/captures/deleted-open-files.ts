// Space held by files deleted but still open: a log rotated by deleting it
// while the program keeps writing, a temp file unlinked on purpose. df counts
// it, du does not, and none of it comes back until the last descriptor is
// closed (a restart, or truncating it through /proc/PID/fd/N). Every
// process's descriptors are read (readlink says "(deleted)", fstat through the
// link gives the filesystem, size and link count), bounded in count and time.
import { readlinkSync, statSync } from 'node:fs';
import { fmtBytes, fmtCount } from '../format/index.js';
import { listDir, readText } from '../util/read-text.js';

const DELETED = ' (deleted)';
/** Descriptors read, and time spent, at most: a host of a million open files is looked at in part. */
const MAX_DESCRIPTORS = 500_000;
const MAX_SCAN_MS = 300;
/** Files named per filesystem. */
const MAX_FILES = 5;

export interface DeletedOpenFile {
  path: string;
  bytes: number;
  /** A process holding it open, and the descriptor (truncate through /proc/PID/fd/FD). */
  pid: number;
  comm: string;
  fd: number;
}

export interface DeletedOpen {
  /** Bytes on the filesystem held by deleted files still open (allocated blocks). */
  bytes: number;
  /** How many there are; the largest of them, with a holder each. */
  count: number;
  files: DeletedOpenFile[];
  /** Descriptors the scan did not reach (its bounds). */
  partial?: boolean;
}

/** st_dev as the kernel's "major:minor" (glibc's encoding), the way mountinfo and filetop name a filesystem. */
export function deviceName(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

/** For each filesystem asked for (by "major:minor"), what deleted files still open hold there, the largest first; filesystems holding none are absent. */
export function deletedOpenFiles(devices: Set<string>): Map<string, DeletedOpen> {
  const held = new Map<string, Map<string, DeletedOpenFile>>(); // by device, then by inode
  if (!devices.size) return new Map();
  const deadline = Date.now() + MAX_SCAN_MS;
  let read = 0;
  let partial = false;
  for (const pid of listDir('/proc').filter((d) => /^\d+$/.test(d))) {
    if (read >= MAX_DESCRIPTORS || Date.now() > deadline) {
      partial = true;
      break;
    }
    for (const fd of listDir(`/proc/${pid}/fd`)) {
      read++;
      const link = `/proc/${pid}/fd/${fd}`;
      let target: string;
      try {
        target = readlinkSync(link);
      } catch {
        continue; // closed meanwhile
      }
      if (!target.startsWith('/') || !target.endsWith(DELETED)) continue;
      const s = statSync(link, { bigint: true, throwIfNoEntry: false });
      if (!s || s.nlink !== 0n || !s.isFile()) continue; // another name still links it: du sees it
      const device = deviceName(s.dev);
      if (!devices.has(device)) continue;
      let files = held.get(device);
      if (!files) held.set(device, (files = new Map()));
      const inode = s.ino.toString();
      if (files.has(inode)) continue; // one file open in several places counts once
      const comm = readText(`/proc/${pid}/comm`)?.trim() ?? '?';
      files.set(inode, { path: target.slice(0, -DELETED.length), bytes: Number(s.blocks) * 512, pid: Number(pid), comm, fd: Number(fd) });
    }
  }
  const out = new Map<string, DeletedOpen>();
  for (const [device, byInode] of held) {
    const files = [...byInode.values()].sort((a, b) => b.bytes - a.bytes);
    out.set(device, { bytes: files.reduce((n, f) => n + f.bytes, 0), count: files.length, files: files.slice(0, MAX_FILES), ...(partial ? { partial } : {}) });
  }
  return out;
}

/** Deleted files still open take this share of a filesystem, or this many bytes, before a full one's finding names them. */
const DELETED_SHARE = 0.05;
const DELETED_BYTES = 1 << 30;

/** "; 768 KiB of its used space is a deleted file still open, which du does not count: /var/log/app.log.1, 768 KiB, held by sleep (pid 5) as fd 3; ..." */
export function deletedOpenText(held: DeletedOpen | undefined, sizeBytes: number): string {
  const largest = held?.files[0];
  if (!held || !largest || (held.bytes < DELETED_SHARE * sizeBytes && held.bytes < DELETED_BYTES)) return '';
  const { pid, fd, comm } = largest;
  const many = held.count > 1;
  return (
    `; ${fmtBytes(held.bytes)} of its used space is ${many ? `${fmtCount(held.count)} deleted files` : 'a deleted file'} still open, which du does not count: ` +
    `${many ? 'the largest ' : ''}${largest.path}, ${fmtBytes(largest.bytes)}, held by ${comm} (pid ${pid}) as fd ${fd}; ` +
    `empty it with : > /proc/${pid}/fd/${fd} or restart ${comm}: the space comes back when its last holder closes it`
  );
}
