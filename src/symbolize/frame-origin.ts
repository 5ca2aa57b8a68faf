// Where a symbolized user frame came from (its ELF file and the ELF virtual
// address looked up), remembered beside the frame so later passes (DWARF
// lines, inlined calls) can look it up again without the process.
import type { ElfFile } from './elf.js';
import type { Frame } from './types.js';

export interface FrameOrigin {
  elf: ElfFile;
  /** The ELF virtual address the symbol was looked up at (a return address minus one). */
  vaddr: number;
}

const origins = new WeakMap<Frame, FrameOrigin>();

export const rememberOrigin = (frame: Frame, origin: FrameOrigin): void => void origins.set(frame, origin);

export const originOf = (frame: Frame): FrameOrigin | undefined => origins.get(frame);
