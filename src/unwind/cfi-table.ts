// Call-frame information of one ELF file: the CIEs and FDEs of .eh_frame
// (or .debug_frame), indexed by the code range each FDE covers, so the unwind
// row for an address is a binary search plus running one FDE's program
// (./cfa-program.ts). Parsed once per file and shared by every process that
// maps it (./tables.ts caches by file).
import { DwarfReader, DW_EH_PE_omit } from './dwarf-reader.js';

/** .debug_frame's 64-bit CIE id, 0xffffffffffffffff, as the number a 64-bit read turns into (2^64). */
const DWARF64_CIE_ID = Number(0xffffffffffffffffn);

export interface Cie {
  codeAlign: number;
  dataAlign: number;
  raRegister: number;
  /** DW_EH_PE encoding of FDE addresses. */
  fdeEncoding: number;
  /** 'z' augmentation: FDEs carry an augmentation data length. */
  hasAugmentationData: boolean;
  /** A signal trampoline's frame ('S'): its pc is not a return address. */
  signalFrame: boolean;
  /** Initial instructions [start, end) in the section. */
  initial: [number, number];
}

export interface Fde {
  cie: Cie;
  start: number;
  end: number;
  /** Instructions [start, end) in the section. */
  program: [number, number];
}

export type CfiFlavour = 'eh_frame' | 'debug_frame';

export class CfiTable {
  /** Sorted by start: FDE code ranges and the FDE's offset in the section. */
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly offsets: Uint32Array;
  private readonly cies = new Map<number, Cie>();
  /** Entries that could not be parsed (counted, skipped). */
  readonly malformed: number;

  /**
   * `section`: the section's bytes; `address`: its virtual address (eh_frame pointers are
   * pc-relative to it). debug_frame uses absolute addresses and another CIE id.
   */
  /** .eh_frame_hdr's sorted table, when usable: lookups search it and nothing is parsed up front. */
  private readonly header: { buf: Buffer; table: number; count: number; address: number } | undefined;

  constructor(
    readonly section: Buffer,
    readonly address: number,
    readonly flavour: CfiFlavour,
    /** .eh_frame_hdr and its address, for .eh_frame. */
    hdr?: { data: Buffer; address: number },
  ) {
    this.header = hdr ? searchTable(hdr.data, hdr.address) : undefined;
    if (this.header) {
      this.starts = new Float64Array(0);
      this.ends = new Float64Array(0);
      this.offsets = new Uint32Array(0);
      this.malformed = 0;
      return;
    }
    const found: { start: number; end: number; offset: number }[] = [];
    let malformed = 0;
    let pos = 0;
    while (pos + 4 <= section.length) {
      let length = section.readUInt32LE(pos);
      let header = 4;
      if (length === 0) {
        if (flavour === 'eh_frame') break; // the terminator
        pos += 4;
        continue;
      }
      if (length === 0xffffffff) {
        length = Number(section.readBigUInt64LE(pos + 4));
        header = 12;
      }
      const entry = pos;
      const next = pos + header + length;
      if (next > section.length) break;
      try {
        const idPos = pos + header;
        const id = header === 12 ? Number(section.readBigUInt64LE(idPos)) : section.readUInt32LE(idPos);
        if (!this.isCie(id)) {
          const fde = this.parseFde(entry);
          if (fde && fde.end > fde.start) found.push({ start: fde.start, end: fde.end, offset: entry });
        }
      } catch {
        malformed++;
      }
      pos = next;
    }
    found.sort((a, b) => a.start - b.start);
    this.starts = Float64Array.from(found, (f) => f.start);
    this.ends = Float64Array.from(found, (f) => f.end);
    this.offsets = Uint32Array.from(found, (f) => f.offset);
    this.malformed = malformed;
  }

  get size(): number {
    return this.header ? this.header.count : this.starts.length;
  }

  /** Bytes held (the section plus the index). */
  get bytes(): number {
    return this.section.length + (this.header ? this.header.buf.length : this.starts.length * 20);
  }

  private isCie(id: number): boolean {
    return this.flavour === 'eh_frame' ? id === 0 : id === 0xffffffff || id === DWARF64_CIE_ID;
  }

  /** The FDE covering a virtual address of this file, if any. */
  find(vaddr: number): Fde | undefined {
    if (this.header) return this.findByHeader(vaddr);
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! > vaddr) hi = mid - 1;
      else lo = mid + 1;
    }
    // hi: the last FDE starting at or before vaddr; nested ranges do not occur in practice.
    if (hi < 0 || vaddr >= this.ends[hi]!) return undefined;
    return this.parseFde(this.offsets[hi]!);
  }

  private findByHeader(vaddr: number): Fde | undefined {
    const { buf, table, count, address } = this.header!;
    // Entries: (initial location, FDE address), both sdata4 relative to the header's start.
    let lo = 0;
    let hi = count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (buf.readInt32LE(table + mid * 8) + address > vaddr) hi = mid - 1;
      else lo = mid + 1;
    }
    if (hi < 0) return undefined;
    const offset = buf.readInt32LE(table + hi * 8 + 4) + address - this.address;
    if (offset < 0 || offset >= this.section.length) return undefined;
    const fde = this.parseFde(offset);
    return fde && vaddr >= fde.start && vaddr < fde.end ? fde : undefined;
  }

  private parseFde(entry: number): Fde | undefined {
    const r = new DwarfReader(this.section, entry, this.address);
    let length = r.u32();
    let wide = false;
    if (length === 0xffffffff) {
      length = r.u64();
      wide = true;
    }
    const end = r.pos + length;
    const idPos = r.pos;
    const ciePointer = wide ? r.u64() : r.u32();
    // eh_frame: distance back from this field to the CIE; debug_frame: offset in the section.
    const cieOffset = this.flavour === 'eh_frame' ? idPos - ciePointer : ciePointer;
    const cie = this.cieAt(cieOffset);
    if (!cie) return undefined;
    const start = r.encoded(cie.fdeEncoding);
    const range = r.encoded(cie.fdeEncoding & 0x0f); // the length: same format, never relative
    if (cie.hasAugmentationData) r.pos += r.uleb();
    return { cie, start, end: start + range, program: [r.pos, end] };
  }

  private cieAt(offset: number): Cie | undefined {
    const cached = this.cies.get(offset);
    if (cached) return cached;
    const r = new DwarfReader(this.section, offset, this.address);
    let length = r.u32();
    let wide = false;
    if (length === 0xffffffff) {
      length = r.u64();
      wide = true;
    }
    const end = r.pos + length;
    const id = wide ? r.u64() : r.u32();
    if (!this.isCie(id)) return undefined;
    const version = r.u8();
    const augmentation = r.cString();
    if (augmentation.includes('eh')) r.pos += 8;
    if (version >= 4) r.pos += 2; // address_size, segment_selector_size (debug_frame v4)
    const codeAlign = r.uleb();
    const dataAlign = r.sleb();
    const raRegister = version === 1 ? r.u8() : r.uleb();
    // debug_frame addresses are absolute 8-byte values.
    let fdeEncoding = this.flavour === 'eh_frame' ? 0 : 0x04;
    let signalFrame = false;
    const hasAugmentationData = augmentation.startsWith('z');
    if (hasAugmentationData) {
      const dataLength = r.uleb();
      const dataEnd = r.pos + dataLength;
      for (const c of augmentation.slice(1)) {
        if (c === 'R') fdeEncoding = r.u8();
        else if (c === 'P') {
          const enc = r.u8();
          r.encoded(enc & 0x7f); // the personality routine: read past it
        } else if (c === 'L') r.u8();
        else if (c === 'S') signalFrame = true;
        else if (c === 'B' || c === 'G') continue;
        else break; // unknown: the length lets us skip the rest
      }
      r.pos = dataEnd;
    } else if (augmentation.includes('S')) {
      signalFrame = true;
    }
    if (fdeEncoding === DW_EH_PE_omit) return undefined;
    const cie: Cie = { codeAlign, dataAlign, raRegister, fdeEncoding, hasAugmentationData, signalFrame, initial: [r.pos, end] };
    this.cies.set(offset, cie);
    return cie;
  }
}

/** The binary-search table of .eh_frame_hdr, when it has the layout every linker writes (datarel sdata4 pairs). */
function searchTable(buf: Buffer, address: number): { buf: Buffer; table: number; count: number; address: number } | undefined {
  if (buf.length < 12 || buf[0] !== 1) return undefined;
  const [ehFramePtrEnc, countEnc, tableEnc] = [buf[1]!, buf[2]!, buf[3]!];
  if (tableEnc !== 0x3b || countEnc === DW_EH_PE_omit) return undefined;
  try {
    const r = new DwarfReader(buf, 4, address);
    r.encoded(ehFramePtrEnc);
    const count = r.encoded(countEnc);
    if (r.pos + count * 8 > buf.length) return undefined;
    return { buf, table: r.pos, count, address };
  } catch {
    return undefined;
  }
}
