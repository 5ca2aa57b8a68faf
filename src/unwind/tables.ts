// Unwind tables per ELF file, parsed on first use and shared by every process
// mapping the file (keyed by the ElfFile object, which src/symbolize caches by
// file identity and build-id). .eh_frame first (it is loaded, so every
// distribution binary has it); .debug_frame where .eh_frame has no FDE.
import type { ElfFile } from '../symbolize/elf.js';
import { rowAt, type UnwindRow } from './cfa-program.js';
import { CfiTable } from './cfi-table.js';

/** Rows remembered per file (an address's row never changes). */
const MAX_ROWS_PER_FILE = 50_000;

export class ModuleCfi {
  private readonly rows = new Map<number, UnwindRow | null>();

  constructor(
    readonly label: string,
    private readonly tables: CfiTable[],
  ) {}

  get fdeCount(): number {
    return this.tables.reduce((a, t) => a + t.size, 0);
  }

  get bytes(): number {
    return this.tables.reduce((a, t) => a + t.bytes, 0);
  }

  /** The code range [start, end) of the FDE covering an ELF virtual address (one function, or one part of it). */
  fdeRange(vaddr: number): { start: number; end: number } | undefined {
    for (const table of this.tables) {
      const fde = table.find(vaddr);
      if (fde) return { start: fde.start, end: fde.end };
    }
    return undefined;
  }

  /** The unwind row at an ELF virtual address, or undefined where no FDE covers it. */
  rowAt(vaddr: number): UnwindRow | undefined {
    const cached = this.rows.get(vaddr);
    if (cached !== undefined) return cached ?? undefined;
    let row: UnwindRow | null = null;
    for (const table of this.tables) {
      const fde = table.find(vaddr);
      if (!fde) continue;
      try {
        row = rowAt(table.section, table.address, fde, vaddr);
      } catch {
        row = null; // a program we cannot run: frame pointers for this frame
      }
      break;
    }
    if (this.rows.size >= MAX_ROWS_PER_FILE) this.rows.clear();
    this.rows.set(vaddr, row);
    return row ?? undefined;
  }
}

const tables = new WeakMap<ElfFile, ModuleCfi | null>();
let loadedBytes = 0;

/** The call-frame information of a file, or undefined when it has none we can read. */
export function moduleCfi(elf: ElfFile): ModuleCfi | undefined {
  const cached = tables.get(elf);
  if (cached !== undefined) return cached ?? undefined;
  const found: CfiTable[] = [];
  for (const [name, flavour] of [
    ['.eh_frame', 'eh_frame'],
    ['.debug_frame', 'debug_frame'],
  ] as const) {
    const data = elf.sectionData(name);
    const section = elf.sections.find((s) => s.name === name);
    if (!data || !section) continue;
    try {
      const hdrSection = flavour === 'eh_frame' ? elf.sections.find((s) => s.name === '.eh_frame_hdr') : undefined;
      const hdrData = hdrSection ? elf.sectionData('.eh_frame_hdr') : undefined;
      const hdr = hdrSection && hdrData ? { data: hdrData, address: hdrSection.addr } : undefined;
      const table = new CfiTable(data, flavour === 'eh_frame' ? section.addr : 0, flavour, hdr);
      if (table.size) found.push(table);
    } catch {
      // unreadable section: the other one, or frame pointers
    }
  }
  const cfi = found.length ? new ModuleCfi(elf.label, found) : null;
  if (cfi) loadedBytes += cfi.bytes;
  tables.set(elf, cfi);
  return cfi ?? undefined;
}

/** Bytes of unwind tables parsed in this process so far (for benchmarks). */
export const unwindTableBytes = (): number => loadedBytes;
