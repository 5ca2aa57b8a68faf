// ELF files shared by every symbolizer in this process, keyed by file identity
// (device, inode, size, mtime): a library mapped by a hundred processes is read
// once. Bounded: at most MAX_CACHED files are remembered and at most MAX_OPEN
// descriptors held (a file is held open from the moment a process is noted
// until its symbols are loaded, so it still reads after the process exits;
// past the bound the oldest is closed and reopened by path, identity checked).
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { bufferSource, ElfFile, fdIdentity, fileSource, type ByteSource } from './elf.js';
import type { MapEntry } from './process-maps.js';

const MAX_CACHED = 256;
const MAX_OPEN = 64;
/** The vDSO is one or two pages; refuse anything implausible. */
const MAX_VDSO_BYTES = 1 << 20;

type Entry = ElfFile | { error: string };

const cache = new Map<string, Entry>();
const holding = new Set<ElfFile>();

function remember(key: string, entry: Entry): void {
  cache.delete(key);
  cache.set(key, entry);
  while (cache.size > MAX_CACHED) {
    const oldest = cache.keys().next().value as string;
    const evicted = cache.get(oldest);
    cache.delete(oldest);
    if (evicted instanceof ElfFile) {
      evicted.close();
      holding.delete(evicted);
    }
  }
}

function hold(elf: ElfFile): void {
  for (const e of holding) if (!e.isOpen) holding.delete(e);
  holding.add(elf);
  for (const e of holding) {
    if (holding.size <= MAX_OPEN) break;
    e.close();
    holding.delete(e);
  }
}

function identityOf(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return st.isFile() ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}` : undefined;
  } catch {
    return undefined;
  }
}

/** Opens the first of `paths` whose identity is `key`. */
function reopener(paths: readonly string[], key: string): () => ByteSource | undefined {
  return () => {
    for (const path of paths) {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        continue;
      }
      try {
        if (fdIdentity(fd) === key) return fileSource(fd);
      } catch {
        // fall through to close
      }
      closeSync(fd);
    }
    return undefined;
  };
}

/** Paths that reach the file of a mapping, best first: the process's own root, its map_files link, the host path. */
export function mappingPaths(pid: number, m: MapEntry): string[] {
  const range = `${m.start.toString(16)}-${m.end.toString(16)}`;
  const viaRoot = `/proc/${pid}/root${m.path}`;
  const viaMapFiles = `/proc/${pid}/map_files/${range}`; // the mapped file itself, even deleted (needs CAP_SYS_ADMIN)
  return m.deleted ? [viaMapFiles, viaRoot] : [viaRoot, viaMapFiles, m.path];
}

/**
 * Separate debug files by build id (Debian's *-dbg / *-dbgsym packages): the host's first (a build id
 * names one build, so either holds the same DWARF, and the host's path outlives the process), then
 * the process's root (a container's own).
 */
export function debugPaths(pid: number, buildId: string): string[] {
  const rel = `/usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
  return [rel, `/proc/${pid}/root${rel}`];
}

/** Of `paths`, the one that is the file `key` names, for a tool that reads it later: one outside /proc/PID first (it outlives the process). */
const lastingPath = (paths: readonly string[], key: string) =>
  [...paths.filter((p) => !p.startsWith('/proc/')), ...paths.filter((p) => p.startsWith('/proc/'))].find((p) => identityOf(p) === key);

export interface ElfResult {
  elf?: ElfFile;
  error?: string;
}

/** The ELF file behind a file mapping of a live process (cached by identity). */
export function elfForMapping(pid: number, m: MapEntry): ElfResult {
  const paths = mappingPaths(pid, m);
  for (const path of paths) {
    const key = identityOf(path);
    if (!key) continue;
    const cached = cache.get(key);
    if (cached) {
      remember(key, cached);
      return cached instanceof ElfFile ? { elf: cached } : { error: cached.error };
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      continue;
    }
    let entry: Entry;
    try {
      const elf = ElfFile.fromSource(m.path, fileSource(fd), {
        reopen: reopener(paths, key),
        debugCandidates: (id) => debugPaths(pid, id),
        locate: () => lastingPath(paths, key),
      });
      hold(elf);
      entry = elf;
    } catch (err) {
      entry = { error: `${m.path}: ${(err as Error).message}` };
    }
    remember(key, entry);
    return entry instanceof ElfFile ? { elf: entry } : { error: entry.error };
  }
  return { error: `${m.path}: cannot open (process gone, or no access)` };
}

let vdso: Entry | undefined;

/** The vDSO image, read once from a process's memory (it is the same for every 64-bit process of this kernel). */
export function vdsoElf(pid: number, m: MapEntry): ElfResult {
  if (!vdso) {
    const size = m.end - m.start;
    let fd: number | undefined;
    try {
      if (size <= 0 || size > MAX_VDSO_BYTES) throw new Error(`implausible size ${size}`);
      fd = openSync(`/proc/${pid}/mem`, 'r');
      const image = Buffer.alloc(size);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, image, done, size - done, m.start + done);
        if (n <= 0) break;
        done += n;
      }
      const elf = ElfFile.fromSource('[vdso]', bufferSource(image.subarray(0, done)));
      elf.sectionData('.eh_frame'); // kept for unwinding: the image is released with the symbols
      elf.sectionData('.eh_frame_hdr');
      elf.loadSymbols();
      vdso = elf;
    } catch (err) {
      // Leave `vdso` unset for a process we could not read: another may work.
      return { error: `[vdso]: ${(err as Error).message}` };
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return vdso instanceof ElfFile ? { elf: vdso } : { error: vdso.error };
}

/** Forgets every cached file and closes what is open (tests, benchmarks: a cold start). */
export function clearElfCache(): void {
  for (const entry of cache.values()) if (entry instanceof ElfFile) entry.close();
  cache.clear();
  holding.clear();
  vdso = undefined;
}
