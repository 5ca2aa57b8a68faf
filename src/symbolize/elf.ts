// A small ELF64 little-endian reader: what symbolization needs and nothing
// more. Headers, PT_LOAD segments and the GNU build-id are read when a file is
// opened (a few small positioned reads); function symbols (.symtab, else
// .dynsym) only on the first lookup, then sorted once. The file is never read
// whole: node is ~100 MB with a 2.6 MB .symtab and a 7.5 MB .strtab.
//
// Addresses and offsets are JS numbers: exact below 2^53, which covers every
// user-space virtual address and file offset on x86-64 and arm64.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

const ELF_MAGIC = 0x464c457f; // "\x7fELF" read as a little-endian u32
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;

export const ET_EXEC = 2;
export const ET_DYN = 3;

const PT_LOAD = 1;
const PT_NOTE = 4;

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;

const STT_NOTYPE = 0;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;

const NT_GNU_BUILD_ID = 3;

const EHDR_SIZE = 64;
const SYM_SIZE = 24;
/** Notes larger than this are not build-id notes (those are ~36 bytes); skip them. */
const MAX_NOTE_READ = 64 * 1024;

/** Where the bytes come from: a file descriptor, or memory (the vDSO). */
export interface ByteSource {
  /** Reads up to `length` bytes at `position`; returns how many were read. */
  read(buffer: Buffer, offset: number, length: number, position: number): number;
  close(): void;
}

export function fileSource(fd: number): ByteSource {
  let open = true;
  return {
    read: (buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export function bufferSource(data: Buffer): ByteSource {
  return {
    read(buffer, offset, length, position) {
      if (position >= data.length) return 0;
      return data.copy(buffer, offset, position, Math.min(data.length, position + length));
    },
    close() {},
  };
}

function readInto(source: ByteSource, buffer: Buffer, position: number): void {
  let done = 0;
  while (done < buffer.length) {
    const n = source.read(buffer, done, buffer.length - done, position + done);
    if (n <= 0) throw new Error(`short read: ${done} of ${buffer.length} bytes at offset ${position}`);
    done += n;
  }
}

function readExact(source: ByteSource, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  readInto(source, buffer, position);
  return buffer;
}

/** A u64 as a number (exact below 2^53). */
function u64(b: Buffer, off: number): number {
  return b.readUInt32LE(off) + b.readUInt32LE(off + 4) * 0x1_0000_0000;
}

export interface LoadSegment {
  /** p_offset, p_vaddr, p_filesz, p_memsz, p_flags of a PT_LOAD header. */
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  flags: number;
}

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  /** Virtual address (st_value) and size; for a zero-size symbol, size runs to the next symbol or its section's end. */
  start: number;
  size: number;
}

/** Sorted function symbols: parallel typed arrays, names decoded on demand. */
class SymbolTable {
  private readonly names: (string | undefined)[];
  constructor(
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
    private readonly nameOffsets: Uint32Array,
    private readonly strtab: Buffer,
  ) {
    this.names = new Array<string | undefined>(starts.length);
  }

  get count(): number {
    return this.starts.length;
  }

  private name(i: number): string {
    let name = this.names[i];
    if (name === undefined) {
      const off = this.nameOffsets[i] as number;
      let end = this.strtab.indexOf(0, off);
      if (end < 0) end = this.strtab.length;
      name = this.strtab.toString('utf8', off, end);
      // Symbol versions ("fgetpos64@@GLIBC_2.2.5") are noise in a stack.
      const at = name.indexOf('@');
      if (at > 0) name = name.slice(0, at);
      this.names[i] = name;
    }
    return name;
  }

  lookup(vaddr: number): ElfSymbol | undefined {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= vaddr) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    // The nearest start below may be a small symbol nested in a larger one
    // (cold parts, aliases of different sizes): look back a little for a cover.
    for (let i = found, tries = 0; i >= 0 && tries < 16; i--, tries++) {
      if (vaddr < (this.ends[i] as number)) {
        const start = starts[i] as number;
        return { name: this.name(i), start, size: (this.ends[i] as number) - start };
      }
    }
    return undefined;
  }
}

export interface ElfOpenOptions {
  /** Re-opens the file when the symbols are needed after close() (the source was released). */
  reopen?: () => ByteSource | undefined;
  /** Where separate debug files for a build id may be, best first; used when the file has no .symtab. */
  debugCandidates?: (buildId: string) => string[];
  /** A path that opens this same file now (identity checked), for tools that take a path. */
  locate?: () => string | undefined;
}

/** Bytes after e_entry named `_start` when no symbol covers them (glibc's _start and ld.so's RTLD_START are shorter). */
const ENTRY_CODE_BYTES = 64;

export class ElfFile {
  readonly type: number;
  readonly machine: number;
  readonly segments: LoadSegment[];
  readonly sections: ElfSection[];
  readonly buildId: string | undefined;
  /** e_entry: where the process starts when this file is what the kernel runs (a program, or ld.so). */
  readonly entry: number;
  private readonly noteSegments: LoadSegment[] = [];
  private source: ByteSource | undefined;
  private symbols: SymbolTable | null | undefined; // null: tried, none
  private symbolError: string | undefined;
  /** The separate debug file the symbols came from, if they did. */
  debugFile: string | undefined;

  private constructor(
    readonly label: string,
    source: ByteSource,
    private readonly options: ElfOpenOptions,
  ) {
    this.source = source;
    const ehdr = readExact(source, 0, EHDR_SIZE);
    if (ehdr.readUInt32LE(0) !== ELF_MAGIC) throw new Error(`${label}: not an ELF file`);
    if (ehdr[4] !== ELFCLASS64 || ehdr[5] !== ELFDATA2LSB) throw new Error(`${label}: not a 64-bit little-endian ELF file`);
    this.type = ehdr.readUInt16LE(16);
    this.machine = ehdr.readUInt16LE(18);
    this.entry = u64(ehdr, 24);
    this.segments = this.readSegments(ehdr);
    this.sections = this.readSections(ehdr);
    this.buildId = this.readBuildId();
  }

  /** Reads headers, segments and build-id now; symbols on first lookup. Takes ownership of `source`. */
  static fromSource(label: string, source: ByteSource, options: ElfOpenOptions = {}): ElfFile {
    try {
      return new ElfFile(label, source, options);
    } catch (err) {
      source.close();
      throw err;
    }
  }

  static open(path: string, options: ElfOpenOptions = {}): ElfFile {
    return ElfFile.fromSource(path, fileSource(openSync(path, 'r')), options);
  }

  private readSegments(ehdr: Buffer): LoadSegment[] {
    const phoff = u64(ehdr, 32);
    const phentsize = ehdr.readUInt16LE(54);
    const phnum = ehdr.readUInt16LE(56);
    if (phoff === 0 || phnum === 0 || phentsize < 56) return [];
    const table = readExact(this.source!, phoff, phentsize * phnum);
    const segments: LoadSegment[] = [];
    for (let i = 0; i < phnum; i++) {
      const p = i * phentsize;
      const type = table.readUInt32LE(p);
      const segment = {
        flags: table.readUInt32LE(p + 4),
        offset: u64(table, p + 8),
        vaddr: u64(table, p + 16),
        filesz: u64(table, p + 32),
        memsz: u64(table, p + 40),
      };
      if (type === PT_LOAD) segments.push(segment);
      else if (type === PT_NOTE) this.noteSegments.push(segment);
    }
    return segments;
  }

  private readSections(ehdr: Buffer): ElfSection[] {
    const shoff = u64(ehdr, 40);
    const shentsize = ehdr.readUInt16LE(58);
    let shnum = ehdr.readUInt16LE(60);
    let shstrndx = ehdr.readUInt16LE(62);
    if (shoff === 0 || shentsize < 64) return [];
    if (shnum === 0 || shstrndx === SHN_XINDEX) {
      // Many sections: the real counts live in section 0.
      const first = readExact(this.source!, shoff, 64);
      if (shnum === 0) shnum = u64(first, 32);
      if (shstrndx === SHN_XINDEX) shstrndx = first.readUInt32LE(40);
    }
    if (shnum === 0 || shnum > 1_000_000) return [];
    let table: Buffer;
    try {
      table = readExact(this.source!, shoff, shentsize * shnum);
    } catch {
      return []; // truncated file (or a memory image without section headers)
    }
    const sections: ElfSection[] = [];
    const nameOffsets: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const s = i * shentsize;
      nameOffsets.push(table.readUInt32LE(s));
      sections.push({
        name: '',
        type: table.readUInt32LE(s + 4),
        flags: u64(table, s + 8),
        addr: u64(table, s + 16),
        offset: u64(table, s + 24),
        size: u64(table, s + 32),
        link: table.readUInt32LE(s + 40),
        entsize: u64(table, s + 56),
      });
    }
    const strtab = sections[shstrndx];
    if (strtab && strtab.type !== SHT_NOBITS && strtab.size < 16 * 1024 * 1024) {
      try {
        const names = readExact(this.source!, strtab.offset, strtab.size);
        sections.forEach((section, i) => {
          const off = nameOffsets[i] as number;
          const end = names.indexOf(0, off);
          section.name = off < names.length ? names.toString('latin1', off, end < 0 ? names.length : end) : '';
        });
      } catch {
        // names stay empty; types are enough for symbols
      }
    }
    return sections;
  }

  private readBuildId(): string | undefined {
    const ranges: { offset: number; size: number }[] = [];
    const named = this.sections.find((s) => s.name === '.note.gnu.build-id' && s.type === SHT_NOTE);
    if (named) ranges.push(named);
    for (const s of this.sections) if (s.type === SHT_NOTE && s !== named && s.name !== '.gnu.build.attributes') ranges.push(s);
    for (const p of this.noteSegments) ranges.push({ offset: p.offset, size: p.filesz });
    for (const range of ranges) {
      if (range.size === 0 || range.size > MAX_NOTE_READ) continue;
      let notes: Buffer;
      try {
        notes = readExact(this.source!, range.offset, range.size);
      } catch {
        continue;
      }
      const id = findBuildIdNote(notes);
      if (id) return id;
    }
    return undefined;
  }

  /** Function symbols loaded (0 before the first lookup or when the file has none). */
  get symbolCount(): number {
    return this.symbols?.count ?? 0;
  }

  /** Why symbols could not be read, if they could not. */
  get symbolProblem(): string | undefined {
    return this.symbolError;
  }

  /** The function symbol covering a virtual address. Loads symbols on first call. */
  lookup(vaddr: number): ElfSymbol | undefined {
    if (this.symbols === undefined) this.loadSymbols();
    const symbol = (this.symbols ? this.symbols.lookup(vaddr) : undefined) ?? this.parts.find((p) => vaddr >= p.start && vaddr < p.start + p.size);
    // Stripped entry code (ld.so's, a stripped program's) is still where every thread of the
    // process began: named so, a stack ending there reads as complete.
    if (!symbol && this.entry && vaddr >= this.entry && vaddr < this.entry + ENTRY_CODE_BYTES)
      return { name: '_start', start: this.entry, size: ENTRY_CODE_BYTES };
    return symbol;
  }

  /** Code that belongs to a function but that no symbol covers (split-off parts in a stripped file). */
  private readonly parts: ElfSymbol[] = [];

  /** Names code the symbol table leaves unnamed, as found by whoever knows the function (src/symbolize/python/eval-loop.ts). */
  addFunctionParts(parts: ElfSymbol[]): void {
    for (const p of parts) if (!this.parts.some((q) => q.start === p.start)) this.parts.push(p);
  }

  /** `length` bytes of the file at a virtual address inside a loaded segment, or undefined. */
  bytesAt(vaddr: number, length: number): Buffer | undefined {
    const seg = this.segments.find((s) => vaddr >= s.vaddr && vaddr + length <= s.vaddr + s.filesz);
    if (!seg) return undefined;
    const reopened = this.source ? undefined : this.options.reopen?.();
    const source = this.source ?? reopened;
    try {
      return source ? readExact(source, seg.offset + (vaddr - seg.vaddr), length) : undefined;
    } catch {
      return undefined;
    } finally {
      reopened?.close();
    }
  }

  /** Loads and sorts the symbol table now (normally done by the first lookup). */
  loadSymbols(): void {
    if (this.symbols !== undefined) return;
    let table: SymbolTable | null = null;
    let complete = false; // from .symtab: every function, not only the exported ones
    const source = this.source ?? this.options.reopen?.();
    if (source) {
      this.source = source;
      try {
        ({ table, complete } = this.readSymbols(source));
      } catch (err) {
        this.symbolError = `${this.label}: ${(err as Error).message}`;
      }
      this.close(); // everything needed is in memory now
    } else {
      this.symbolError = `${this.label}: no longer readable`;
    }
    if (!complete) {
      const separate = this.separateDebugSymbols();
      if (separate) {
        table = separate;
        this.symbolError = undefined;
      }
    }
    this.symbols = table;
  }

  /** Symbols of a separate debug file with the same build id (/usr/lib/debug/.build-id/xx/yyyy.debug). */
  private separateDebugSymbols(): SymbolTable | null {
    if (!this.buildId || !this.options.debugCandidates) return null;
    for (const path of this.options.debugCandidates(this.buildId)) {
      let debug: ElfFile;
      try {
        debug = ElfFile.open(path);
      } catch {
        continue;
      }
      try {
        if (debug.buildId !== this.buildId) continue;
        const { table } = debug.readSymbols(debug.source as ByteSource);
        if (table) {
          this.debugFile = path;
          return table;
        }
      } catch {
        // unreadable: try the next one
      } finally {
        debug.close();
      }
    }
    return null;
  }

  private readonly sectionCache = new Map<string, Buffer | null>();

  /**
   * A section's bytes (remembered): read from the file, reopened if it was released.
   * Undefined when the file has no such section or can no longer be read.
   */
  sectionData(name: string, maxBytes = 64 << 20): Buffer | undefined {
    const cached = this.sectionCache.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const section = this.sections.find((s) => s.name === name && s.type !== SHT_NOBITS && s.size > 0);
    let data: Buffer | null = null;
    if (section && section.size <= maxBytes) {
      const reopened = this.source ? undefined : this.options.reopen?.();
      const source = this.source ?? reopened;
      try {
        if (source) data = readExact(source, section.offset, section.size);
      } catch {
        data = null;
      } finally {
        reopened?.close();
      }
    }
    this.sectionCache.set(name, data);
    return data ?? undefined;
  }

  private dwarf: string | null | undefined;

  /**
   * A path to read this file's DWARF line and inline information from: the file itself
   * when it has .debug_line, else its separate debug file by build id; undefined if none.
   */
  dwarfPath(): string | undefined {
    if (this.dwarf !== undefined) return this.dwarf ?? undefined;
    let found: string | undefined;
    if (this.sections.some((s) => s.name === '.debug_line' && s.type !== SHT_NOBITS && s.size > 0)) found = this.options.locate?.();
    else if (this.buildId && this.options.debugCandidates) found = this.options.debugCandidates(this.buildId).find((p) => existsSync(p));
    this.dwarf = found ?? null;
    return found;
  }

  /** Releases the file; symbols already loaded stay usable. */
  close(): void {
    this.source?.close();
    this.source = undefined;
  }

  /** Is a file descriptor (or other source) still held? */
  get isOpen(): boolean {
    return this.source !== undefined;
  }

  private readSymbols(source: ByteSource): { table: SymbolTable | null; complete: boolean } {
    // .symtab has every function; .dynsym only the exported ones (stripped files).
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB && s.size > 0);
    const table = symtab ?? this.sections.find((s) => s.type === SHT_DYNSYM && s.size > 0);
    const none = { table: null, complete: symtab !== undefined };
    if (!table) return none;
    const strtabSection = this.sections[table.link];
    if (!strtabSection || strtabSection.type === SHT_NOBITS) return none;
    const entsize = table.entsize >= SYM_SIZE && table.entsize % 4 === 0 ? table.entsize : SYM_SIZE;
    const count = Math.floor(table.size / entsize);
    // Buffer.alloc is never pooled: its memory is 8-aligned, so a u32 view works.
    const data = Buffer.alloc(count * entsize);
    readInto(source, data, table.offset);
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    const stride = entsize >>> 2;

    // Elf64_Sym as u32 words: name, info|other<<8|shndx<<16, value lo/hi, size lo/hi.
    const startOf = (w: number) => (words[w + 2] as number) + (words[w + 3] as number) * 0x1_0000_0000;
    const sizeOf = (w: number) => (words[w + 4] as number) + (words[w + 5] as number) * 0x1_0000_0000;
    const rankOf = (w: number): number => {
      const info = (words[w + 1] as number) & 0xff;
      const type = info & 0xf;
      const bind = info >> 4;
      return (sizeOf(w) > 0 ? 8 : 0) + (type === STT_FUNC ? 4 : type === STT_GNU_IFUNC ? 2 : 0) + (bind === STB_GLOBAL ? 1 : bind === STB_LOCAL ? 0 : 0.5);
    };

    // The function symbols, by word index.
    const picked = new Uint32Array(count);
    let n = 0;
    let minStart = Number.POSITIVE_INFINITY;
    let maxStart = 0;
    for (let i = 1; i < count; i++) {
      const w = i * stride;
      const w1 = words[w + 1] as number;
      const type = w1 & 0xf;
      const shndx = w1 >>> 16;
      if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE || (words[w] as number) === 0) continue;
      if (!(type === STT_FUNC || type === STT_GNU_IFUNC || (type === STT_NOTYPE && sizeOf(w) > 0))) continue;
      const start = startOf(w);
      if (start === 0 && this.type === ET_EXEC) continue;
      picked[n++] = w;
      if (start < minStart) minStart = start;
      if (start > maxStart) maxStart = start;
    }
    if (n === 0) return none;

    const order = sortByStart(picked.subarray(0, n), startOf, minStart, maxStart);

    // One symbol per address, the best ranked: sized, FUNC, GLOBAL, larger.
    const starts = new Float64Array(n);
    const ends = new Float64Array(n);
    const nameOffsets = new Uint32Array(n);
    const chosen = new Uint32Array(n);
    let kept = 0;
    for (let k = 0; k < n; k++) {
      const w = order[k] as number;
      const start = startOf(w);
      if (kept > 0 && starts[kept - 1] === start) {
        const other = chosen[kept - 1] as number;
        const r = rankOf(w);
        const ro = rankOf(other);
        if (r > ro || (r === ro && sizeOf(w) > sizeOf(other))) chosen[kept - 1] = w;
        continue;
      }
      starts[kept] = start;
      chosen[kept++] = w;
    }
    for (let i = 0; i < kept; i++) {
      const w = chosen[i] as number;
      const start = starts[i] as number;
      nameOffsets[i] = words[w] as number;
      const size = sizeOf(w);
      if (size > 0) {
        ends[i] = start + size;
      } else {
        // Zero-size (assembly) symbols run to the next symbol, within their section.
        const section = this.sections[(words[w + 1] as number) >>> 16];
        const next = i + 1 < kept ? (starts[i + 1] as number) : Number.POSITIVE_INFINITY;
        const sectionEnd = section && section.addr + section.size > start ? section.addr + section.size : next;
        ends[i] = Math.min(next, sectionEnd);
      }
    }
    const strtab = Buffer.allocUnsafeSlow(strtabSection.size);
    readInto(source, strtab, strtabSection.offset);
    return { table: new SymbolTable(starts.slice(0, kept), ends.slice(0, kept), nameOffsets.slice(0, kept), strtab), complete: symtab !== undefined };
  }
}

const INDEX_BITS = 2 ** 20;

/**
 * Word indices ordered by start address. When (start - min) * 2^20 + ordinal stays exact in a
 * double (spans under 8 GiB, under a million symbols), one native typed-array sort of those
 * packed keys does it, about 3x faster than a comparator sort.
 */
function sortByStart(picked: Uint32Array, startOf: (w: number) => number, minStart: number, maxStart: number): Uint32Array {
  const n = picked.length;
  if (n < INDEX_BITS && (maxStart - minStart) * INDEX_BITS + INDEX_BITS <= Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(n);
    for (let k = 0; k < n; k++) keys[k] = (startOf(picked[k] as number) - minStart) * INDEX_BITS + k;
    keys.sort();
    const order = new Uint32Array(n);
    for (let k = 0; k < n; k++) order[k] = picked[(keys[k] as number) % INDEX_BITS] as number;
    return order;
  }
  return Uint32Array.from(picked).sort((a, b) => startOf(a) - startOf(b));
}

/** The GNU build-id in a run of ELF notes, as lowercase hex. */
export function findBuildIdNote(notes: Buffer): string | undefined {
  const align4 = (n: number) => (n + 3) & ~3;
  let p = 0;
  while (p + 12 <= notes.length) {
    const namesz = notes.readUInt32LE(p);
    const descsz = notes.readUInt32LE(p + 4);
    const type = notes.readUInt32LE(p + 8);
    const nameStart = p + 12;
    const descStart = nameStart + align4(namesz);
    const next = descStart + align4(descsz);
    if (next > notes.length || next <= p) return undefined;
    if (type === NT_GNU_BUILD_ID && namesz === 4 && notes.toString('latin1', nameStart, nameStart + 3) === 'GNU' && descsz > 0) {
      return notes.toString('hex', descStart, descStart + descsz);
    }
    p = next;
  }
  return undefined;
}

/** Identity of an open file, for caches: device, inode, size and mtime. */
export function fdIdentity(fd: number): string {
  const st = fstatSync(fd, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}
