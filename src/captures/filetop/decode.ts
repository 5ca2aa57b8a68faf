// Decodes bpf/filetop/filetop.h: the key and per-CPU counters of the map
// "files", and the one-per-key path records of the ring buffer "paths", at
// the offsets below (checked against the object's BTF by
// test/architecture/record-layouts.test.ts).
import { cString, recordLayout } from '../records.js';

export const keyLayout = recordLayout('filetop_key', 16, { tgid: 0, dev: 4, ino: 8 });
export const statsLayout = recordLayout('filetop_stats', 32, { reads: 0, writes: 8, read_bytes: 16, write_bytes: 24 });
/** struct filetop_last: the key, then file and inode pointers, then the pending counters. */
export const lastLayout = recordLayout('filetop_last', 64, { key: 0, file: 16, inode: 24, pending: 32 });
/** struct filetop_path; only `size` bytes of names are sent. */
export const pathLayout = recordLayout(
  'filetop_path',
  4144,
  {
    key: 0,
    mode: 16,
    depth: 20,
    size: 24,
    flags: 28,
    comm: 32,
    names: 48,
  },
  { comm: 16, names: 4096 },
);

export const PATH_TRUNCATED = 1;
export const PATH_PSEUDO = 2;
export const PATH_DELETED = 4;

export type FileKind = 'file' | 'socket' | 'pipe' | 'chardev' | 'other';

export interface FileKey {
  tgid: number;
  /** The kernel's dev_t: major << 20 | minor. */
  dev: number;
  ino: bigint;
}

export interface FileStats {
  reads: number;
  writes: number;
  readBytes: number;
  writeBytes: number;
}

export interface PathRecord {
  key: FileKey;
  mode: number;
  comm: string;
  /** Components leaf first, as the kernel walked them. */
  names: string[];
  flags: number;
}

export const keyId = (k: FileKey): string => `${k.tgid}:${k.dev}:${k.ino}`;

export function decodeKey(data: Buffer): FileKey {
  return {
    tgid: data.readUInt32LE(keyLayout.offsets.tgid),
    dev: data.readUInt32LE(keyLayout.offsets.dev),
    ino: data.readBigUInt64LE(keyLayout.offsets.ino),
  };
}

/** Sums the per-CPU copies of struct filetop_stats. */
export function sumStats(copies: Buffer[]): FileStats {
  const s: FileStats = { reads: 0, writes: 0, readBytes: 0, writeBytes: 0 };
  const O = statsLayout.offsets;
  for (const c of copies) {
    s.reads += Number(c.readBigUInt64LE(O.reads));
    s.writes += Number(c.readBigUInt64LE(O.writes));
    s.readBytes += Number(c.readBigUInt64LE(O.read_bytes));
    s.writeBytes += Number(c.readBigUInt64LE(O.write_bytes));
  }
  return s;
}

/** Counts still in the per-CPU slots of "last" (not yet added to "files"), by key. */
export function pendingOf(copies: Buffer[]): Array<[FileKey, FileStats]> {
  return copies
    .map((c) => [decodeKey(c.subarray(lastLayout.offsets.key)), sumStats([c.subarray(lastLayout.offsets.pending)])] as [FileKey, FileStats])
    .filter(([, s]) => s.reads || s.writes);
}

export function decodePath(data: Buffer): PathRecord | undefined {
  const L = pathLayout.offsets;
  if (data.length < L.names) return undefined;
  const size = Math.min(data.readUInt32LE(L.size), data.length - L.names);
  const names = size > 0 ? data.toString('utf8', L.names, L.names + size).split('\0') : [];
  if (names.at(-1) === '') names.pop(); // the last name's NUL
  return {
    key: decodeKey(data.subarray(L.key)),
    mode: data.readUInt32LE(L.mode),
    comm: cString(data, L.comm, pathLayout.lengths.comm),
    names,
    flags: data.readUInt32LE(L.flags),
  };
}

const S_IFMT = 0o170000;
/** From the inode's mode: sockets, pipes (FIFOs, named or not) and character devices (/dev/zero, a tty) by type, regular files as file. */
export function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o140000:
      return 'socket';
    case 0o010000:
      return 'pipe';
    case 0o020000:
      return 'chardev';
    default:
      return 'other';
  }
}

export const devName = (dev: number): string => `${dev >>> 20}:${dev & 0xfffff}`;

/**
 * The path people know: "/a/b/c" for a file under a root, "socket:[ino]" and
 * "pipe:[ino]" as /proc shows them, the kernel's name for other pseudo files
 * ("[eventfd]", "memfd:x"); "…/" marks a cut walk, " (deleted)" an unlinked file.
 */
export function pathOf(record: PathRecord): string {
  const { key, mode, names, flags } = record;
  const kind = kindOfMode(mode);
  if (flags & PATH_PSEUDO) {
    if (kind === 'socket') return `socket:[${key.ino}]`;
    if (kind === 'pipe') return `pipe:[${key.ino}]`;
    const name = [...names].reverse().join('/');
    return name || `anon:[${key.ino}]`;
  }
  const joined = [...names].reverse().join('/');
  const path = flags & PATH_TRUNCATED ? `…/${joined}` : `/${joined}`;
  return flags & PATH_DELETED ? `${path} (deleted)` : path;
}
