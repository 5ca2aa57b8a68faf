// Code objects of one Python process, read from its memory (and remembered:
// a function's code object lives as long as the function): qualified name,
// file, first line and line table, so a frame's line follows from its
// instruction pointer.
import type { PythonCodeLayout } from './layouts.js';
import { lineOfInstruction } from './line-table.js';
import { ProcessMemory } from '../process-memory.js';

/** Longest name or path read; longer ones are cut. */
const MAX_STRING = 4096;
const MAX_LINE_TABLE = 1 << 20;
/** Most code objects remembered per process. */
const MAX_CACHED = 50_000;

export interface PythonCode {
  name: string;
  file: string;
  firstLine: number;
  lineTable: Buffer;
}

export interface PythonFrameInfo {
  name: string;
  file: string;
  line: number | undefined;
}

export class PythonCodeReader {
  private readonly memory: ProcessMemory;
  private readonly cache = new Map<bigint, PythonCode>();

  constructor(
    readonly pid: number,
    private readonly layout: PythonCodeLayout,
  ) {
    this.memory = new ProcessMemory(pid);
  }

  /** The frame of a code object at `instr`, or undefined when the object cannot be read. */
  frame(code: bigint, instr: bigint): PythonFrameInfo | undefined {
    const c = this.code(code);
    if (!c) return undefined;
    const unit = Number(instr - (code + BigInt(this.layout.codeAdaptive))) / 2;
    const line = Number.isInteger(unit) && unit < 1 << 24 ? lineOfInstruction(c.lineTable, c.firstLine, unit) : undefined;
    return { name: c.name, file: c.file, line };
  }

  code(addr: bigint): PythonCode | undefined {
    const cached = this.cache.get(addr);
    if (cached) return cached;
    const code = this.readCode(addr);
    if (!code) return undefined; // not remembered: the read may work later (a page not there yet)
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(addr, code);
    return code;
  }

  private readCode(addr: bigint): PythonCode | undefined {
    const L = this.layout;
    const head = this.memory.read(addr, L.codeAdaptive);
    if (!head) return undefined;
    const name = this.string(head.readBigUInt64LE(L.qualname)) ?? this.string(head.readBigUInt64LE(L.name));
    if (name === undefined) return undefined;
    const file = this.string(head.readBigUInt64LE(L.filename)) ?? '?';
    const lineTable = this.bytes(head.readBigUInt64LE(L.lineTable)) ?? Buffer.alloc(0);
    return { name, file, firstLine: head.readInt32LE(L.firstLineNo), lineTable };
  }

  /** A str object's text (compact strings: every str an interpreter makes for names and paths). */
  private string(addr: bigint): string | undefined {
    const L = this.layout;
    const head = this.memory.read(addr, L.compactData);
    if (!head) return undefined;
    const length = Number(head.readBigInt64LE(L.unicodeLength));
    const state = head.readUInt32LE(L.unicodeState);
    const kind = (state >> 2) & 7;
    const compact = (state >> 5) & 1;
    const ascii = (state >> 6) & 1;
    if (!compact || length < 0 || ![1, 2, 4].includes(kind)) return undefined;
    const chars = Math.min(length, MAX_STRING);
    const data = this.memory.read(addr + BigInt(ascii ? L.asciiData : L.compactData), chars * kind);
    if (!data) return undefined;
    if (kind === 1) return data.toString('latin1');
    if (kind === 2) return data.toString('utf16le');
    let text = '';
    for (let i = 0; i < chars; i++) {
      const point = data.readUInt32LE(i * 4);
      // Past Unicode: not a str after all (the object was freed and reused while we read it).
      if (point > 0x10ffff) return undefined;
      text += String.fromCodePoint(point);
    }
    return text;
  }

  private bytes(addr: bigint): Buffer | undefined {
    const L = this.layout;
    const head = this.memory.read(addr, L.bytesData);
    if (!head) return undefined;
    const size = Number(head.readBigInt64LE(L.bytesSize));
    if (size < 0 || size > MAX_LINE_TABLE) return undefined;
    return this.memory.read(addr + BigInt(L.bytesData), size);
  }

  close(): void {
    this.memory.close();
  }
}
