// The variable an address of a live process lies in: a global or static in a
// program's or library's .data or .bss (a mutex, a table), named by the ELF
// symbol table's object symbols, as "accounts+0x30". The address's mapping
// (or, for .bss, the file mapping just below it) gives the file and its load
// address. Heap and stack addresses name nothing.
import { basename } from 'node:path';
import { ElfFile } from './elf.js';
import { parseMaps } from './process-maps.js';
import { readText } from '../util/read-text.js';

const STT_OBJECT = 1;
const SYM_SIZE = 24;
/** A symbol table larger than this is not scanned (one lookup reads it whole). */
const MAX_SYMTAB_BYTES = 32 << 20;

export interface Variable {
  /** "accounts", or "accounts+0x30" inside it. */
  name: string;
  /** The file it is in (its name). */
  module: string;
}

export function variableAt(pid: number, address: number): Variable | undefined {
  const maps = parseMaps(readText(`/proc/${pid}/maps`) ?? '');
  let i = maps.findIndex((m) => address >= m.start && address < m.end);
  // .bss past the file's end is anonymous memory right after the file's last mapping.
  while (i > 0 && !maps[i]!.path.startsWith('/') && maps[i - 1]!.end === maps[i]!.start) i--;
  const mapping = maps[i];
  if (!mapping?.path.startsWith('/')) return undefined;
  const first = maps.find((m) => m.path === mapping.path && m.offset === 0);
  if (!first) return undefined;
  let elf: ElfFile;
  try {
    elf = ElfFile.open(`/proc/${pid}/root${mapping.path}`);
  } catch {
    return undefined;
  }
  try {
    // The segment at file offset 0 is mapped at `first.start`: that fixes the load bias of every address in the file.
    const segment = elf.segments.find((s) => s.offset === 0) ?? elf.segments[0];
    if (!segment) return undefined;
    const vaddr = address - (first.start - segment.vaddr);
    const symbol = objectSymbolAt(elf, vaddr);
    return symbol ? { name: symbol.offset ? `${symbol.name}+0x${symbol.offset.toString(16)}` : symbol.name, module: basename(mapping.path) } : undefined;
  } finally {
    elf.close();
  }
}

/** The object symbol covering vaddr in .symtab (or .dynsym, in a stripped file), scanned once. */
function objectSymbolAt(elf: ElfFile, vaddr: number): { name: string; offset: number } | undefined {
  for (const [table, strings] of [
    ['.symtab', '.strtab'],
    ['.dynsym', '.dynstr'],
  ] as const) {
    const symbols = elf.sectionData(table, MAX_SYMTAB_BYTES);
    const names = elf.sectionData(strings, MAX_SYMTAB_BYTES);
    if (!symbols || !names) continue;
    for (let at = SYM_SIZE; at + SYM_SIZE <= symbols.length; at += SYM_SIZE) {
      if ((symbols[at + 4]! & 0xf) !== STT_OBJECT) continue;
      const start = Number(symbols.readBigUInt64LE(at + 8));
      const size = Number(symbols.readBigUInt64LE(at + 16));
      if (vaddr < start || vaddr >= start + size) continue;
      const nameAt = symbols.readUInt32LE(at);
      const end = names.indexOf(0, nameAt);
      return { name: names.toString('utf8', nameAt, end < 0 ? names.length : end), offset: vaddr - start };
    }
  }
  return undefined;
}
