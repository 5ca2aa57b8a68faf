// /proc/PID/maps: which file (and which offset in it) an address comes from,
// and from there the ELF virtual address a symbol table speaks of:
//   file offset = addr - map.start + map.offset
//   vaddr       = file offset - seg.p_offset + seg.p_vaddr   (the PT_LOAD holding that offset)
// which is right for PIE executables, non-PIE ones and shared libraries alike.
import { readFileSync } from 'node:fs';
import type { LoadSegment } from './elf.js';

export interface MapEntry {
  start: number;
  end: number;
  /** "r-xp" etc. */
  perms: string;
  /** File offset of `start` (0 for anonymous mappings). */
  offset: number;
  /** "fe:01" as the kernel shows it. */
  dev: string;
  inode: number;
  /** The file, "[heap]", "[vdso]", "[anon:name]", "" for anonymous; " (deleted)" cut off. */
  path: string;
  /** The file was deleted (or replaced) after it was mapped. */
  deleted: boolean;
}

const DELETED = ' (deleted)';

/**
 * Parses maps text. Addresses past 2^53 ([vsyscall]) lose precision and never match a
 * user-space address; they are kept so the list stays complete.
 */
export function parseMaps(text: string): MapEntry[] {
  const entries: MapEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    // start-end perms offset dev inode [path]; the path may contain spaces.
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    let path = m[7] ?? '';
    let deleted = false;
    if (path.endsWith(DELETED)) {
      path = path.slice(0, -DELETED.length);
      deleted = true;
    }
    entries.push({
      start: parseInt(m[1] as string, 16),
      end: parseInt(m[2] as string, 16),
      perms: m[3] as string,
      offset: parseInt(m[4] as string, 16),
      dev: m[5] as string,
      inode: Number(m[6]),
      path,
      deleted,
    });
  }
  entries.sort((a, b) => a.start - b.start);
  return entries;
}

/** Reads and parses /proc/PID/maps; throws when the process is gone or unreadable. */
export function readMaps(pid: number): MapEntry[] {
  return parseMaps(readFileSync(`/proc/${pid}/maps`, 'latin1'));
}

/** The mapping holding `addr` in a list sorted by start (parseMaps' order). */
export function findMapping(maps: readonly MapEntry[], addr: number): MapEntry | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = maps[mid] as MapEntry;
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** Is this mapping backed by a regular file (not anonymous memory, [heap], [vdso], memfd...)? */
export function isFileMapping(m: MapEntry): boolean {
  return m.inode !== 0 && m.path.startsWith('/') && !m.path.startsWith('/memfd:') && !m.path.startsWith('/dev/');
}

/** Offset inside the mapped file of an address inside the mapping. */
export function fileOffsetOf(m: MapEntry, addr: number): number {
  return addr - m.start + m.offset;
}

/** The ELF virtual address for a file offset, by the PT_LOAD segment whose file bytes hold it. */
export function vaddrOfFileOffset(segments: readonly LoadSegment[], fileOffset: number): number | undefined {
  for (const s of segments) {
    if (fileOffset >= s.offset && fileOffset < s.offset + s.filesz) return fileOffset - s.offset + s.vaddr;
  }
  return undefined;
}

/** Short module name for frames: the file's basename, or the bracketed name ("[vdso]"). */
export function moduleName(m: MapEntry): string {
  if (!m.path) return '[anon]';
  if (!m.path.startsWith('/')) return m.path;
  const slash = m.path.lastIndexOf('/');
  return m.path.slice(slash + 1) || m.path;
}

/**
 * Merges an older snapshot into a newer one: mappings that the new one no longer has and
 * that overlap nothing in it are kept (a library unloaded, a process that exited mid-window),
 * so samples taken before the change still symbolize.
 */
export function mergeMaps(newer: readonly MapEntry[], older: readonly MapEntry[]): MapEntry[] {
  const kept = older.filter((o) => !overlapsAny(newer, o.start, o.end));
  if (kept.length === 0) return [...newer];
  return [...newer, ...kept].sort((a, b) => a.start - b.start);
}

/** Does any mapping of a sorted, non-overlapping list intersect [start, end)? */
function overlapsAny(maps: readonly MapEntry[], start: number, end: number): boolean {
  // The first mapping ending after `start`, then whether it begins before `end`.
  let lo = 0;
  let hi = maps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((maps[mid] as MapEntry).end <= start) lo = mid + 1;
    else hi = mid;
  }
  const first = maps[lo];
  return first !== undefined && first.start < end;
}
