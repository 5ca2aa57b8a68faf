// The eval loop's code in a stripped interpreter, so its native frames are
// named and the Python frames take their place (interleave.ts). .dynsym
// covers _PyEval_EvalFrameDefault's entry only; the compiler's hot/cold
// partitioning moves the rest into parts no exported symbol covers (Debian's
// 3.14 runs the loop almost wholly in one). A part is the FDE reached by a
// direct jump (jmp/jcc rel32) out of the symbol into code no symbol names.
import type { ElfFile } from '../elf.js';

/** The FDE ranges of the file (src/unwind's ModuleCfi). */
export interface FdeRanges {
  fdeRange(vaddr: number): { start: number; end: number } | undefined;
}

const EVAL_LOOP = '_PyEval_EvalFrameDefault';
/** A larger entry is not scanned (the loop is one function there). */
const MAX_SCAN = 1 << 20;

const named = new WeakSet<ElfFile>();

/** Names the eval loop's split-off parts in `elf` (once per file); `entry` is the symbol's address. */
export function nameEvalLoopParts(elf: ElfFile, entry: number, cfi: FdeRanges | undefined): void {
  if (named.has(elf)) return;
  named.add(elf);
  const symbol = elf.lookup(entry);
  if (!symbol || symbol.start !== entry || !cfi || symbol.size > MAX_SCAN) return;
  const code = elf.bytesAt(symbol.start, symbol.size);
  if (!code) return;
  const end = symbol.start + symbol.size;
  const parts = new Map<number, number>();
  for (let i = 0; i + 5 <= code.length; i++) {
    // E9 rel32 (jmp) or 0F 80..8F rel32 (jcc); a byte inside another instruction may look like
    // one too, so a target counts only where no symbol is and an FDE begins at or covers it.
    const at = code[i] === 0xe9 ? i + 1 : code[i] === 0x0f && (code[i + 1]! & 0xf0) === 0x80 && i + 6 <= code.length ? i + 2 : -1;
    if (at < 0) continue;
    const target = symbol.start + at + 4 + code.readInt32LE(at);
    if (target >= symbol.start && target < end) continue;
    if (elf.lookup(target)) continue;
    const fde = cfi.fdeRange(target);
    if (fde) parts.set(fde.start, fde.end - fde.start);
  }
  elf.addFunctionParts([...parts].map(([start, size]) => ({ name: EVAL_LOOP, start, size })));
}
