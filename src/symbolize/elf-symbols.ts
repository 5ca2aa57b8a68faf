// A process's modules by name, opened, and where their exported symbols are
// in it: values from .dynsym, the load bias from a mapping. For the
// runtimes whose state a profiler reads (CPython's _PyRuntime, V8's v8dbg_
// constants), exported so that their extension modules and debuggers link.
import type { ElfFile } from './elf.js';
import { elfForMapping } from './elf-cache.js';
import { isFileMapping, readMaps, type MapEntry } from './process-maps.js';

export interface MappedModule {
  mapping: MapEntry;
  /** The pattern's match on its path. */
  match: RegExpExecArray;
  /** undefined: the file cannot be read. */
  elf?: ElfFile;
  /** This module's mappings (for loadBias). */
  mappings: MapEntry[];
}

/** Each distinct file a process maps whose path matches `pattern`, opened (none when its maps cannot be read). */
export function* mappedModules(pid: number, pattern: RegExp): Generator<MappedModule> {
  let maps: MapEntry[];
  try {
    maps = readMaps(pid);
  } catch {
    return;
  }
  const seen = new Set<string>();
  for (const m of maps) {
    const match = pattern.exec(m.path);
    if (!match || !isFileMapping(m) || seen.has(m.path)) continue;
    seen.add(m.path);
    const { elf } = elfForMapping(pid, m);
    yield { mapping: m, match, ...(elf ? { elf } : {}), mappings: maps.filter((x) => x.path === m.path && x.inode === m.inode) };
  }
}

/** Process address minus ELF virtual address, from a mapping of the file's bytes. */
export function loadBias(elf: ElfFile, mappings: MapEntry[]): number | undefined {
  for (const m of mappings) {
    const seg = elf.segments.find((s) => m.offset >= s.offset && m.offset < s.offset + s.filesz);
    if (seg) return m.start - m.offset - (seg.vaddr - seg.offset);
  }
  return undefined;
}

/** Values of the named symbols of .dynsym (the runtime is exported for extension modules). */
export function dynamicSymbols(elf: ElfFile, names: string[]): Map<string, number> {
  const found = new Map<string, number>();
  const symbols = elf.sectionData('.dynsym');
  const strings = elf.sectionData('.dynstr');
  if (!symbols || !strings) return found;
  const wanted = new Set(names);
  for (let off = 0; off + 24 <= symbols.length && found.size < wanted.size; off += 24) {
    const nameAt = symbols.readUInt32LE(off);
    const end = strings.indexOf(0, nameAt);
    if (end < 0) continue;
    const name = strings.toString('latin1', nameAt, end);
    const value = Number(symbols.readBigUInt64LE(off + 8));
    if (wanted.has(name) && value) found.set(name, value);
  }
  return found;
}
