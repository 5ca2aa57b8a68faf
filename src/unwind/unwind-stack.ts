// Unwinds one user stack from a snapshot (registers + a copy of the stack from
// sp up), the way perf --call-graph=dwarf does after the fact: each frame by
// its module's call-frame information where it has an FDE for the address,
// by the frame-pointer chain where it has none (JIT code, modules without
// CFI), so stacks cross between the two. Every stop says why.
import { REG_RA, REG_RBP, REG_RSP, type RegRule, type UnwindRow } from './cfa-program.js';
import { evaluate } from './expression.js';
import type { ModuleCfi } from './tables.js';

export interface StackSnapshot {
  ip: bigint;
  sp: bigint;
  bp: bigint;
  /** The stack from dataStart (sp, or a little below it) up. */
  data: Buffer;
  /** The address of data[0]; sp when absent. */
  dataStart?: bigint;
}

/** Where a code address is: its module, and the ELF address and CFI when the module has them. */
export interface CodeLocation {
  module: string;
  /** False for anonymous code (JIT): no file to read CFI from. */
  fileBacked: boolean;
  vaddr?: number;
  cfi?: ModuleCfi;
}

export type UnwindEnd =
  /** The outermost frame: the return address is undefined by CFI (_start, clone3) or zero. */
  | 'root'
  /** maxDepth frames. */
  | 'depth'
  /** The next frame's data is above the stack copy (raise the snapshot size). */
  | 'snapshot'
  /** An address outside every mapping of the process (dropped, not drawn). */
  | 'unmapped'
  /** A frame-pointer step in code without CFI found no chain (rbp not a frame pointer). */
  | 'no-unwind-info'
  /** The rules gave a frame that cannot be (the stack pointer did not move up). */
  | 'bad-frame';

export interface UnwoundStack {
  /** Leaf first: the sampled pc, then return addresses. */
  ips: bigint[];
  end: UnwindEnd;
  /** The module that stopped the walk, for 'no-unwind-info' and 'unmapped'. */
  endModule?: string;
  /** Frames unwound by frame pointers (the others by CFI). */
  framePointerFrames: number;
  /** The frame pointer of each frame stepped by it (by index in ips; JIT frames keep their function below it), else undefined. */
  framePointers: (number | undefined)[];
}

const MAX_ADDRESS = 2 ** 53;

/** `offsetsRead`, when given, collects the offsets into the stack copy the walk read (unwind-memo.ts). */
export function unwindStack(snapshot: StackSnapshot, locate: (pc: number) => CodeLocation | undefined, maxDepth: number, offsetsRead?: number[]): UnwoundStack {
  const base = Number(snapshot.dataStart ?? snapshot.sp);
  const data = snapshot.data;
  const read = (address: number): number | undefined => {
    const off = address - base;
    offsetsRead?.push(off);
    if (!Number.isInteger(off) || off < 0 || off + 8 > data.length) return undefined;
    const v = data.readBigUInt64LE(off);
    return v < BigInt(MAX_ADDRESS) ? Number(v) : undefined;
  };
  const ips: bigint[] = [];
  let pc = Number(snapshot.ip);
  let sp = Number(snapshot.sp);
  let bp: number | undefined = snapshot.bp < BigInt(MAX_ADDRESS) ? Number(snapshot.bp) : undefined;
  let framePointerFrames = 0;
  let afterSignal = false;
  const framePointers: (number | undefined)[] = [];
  const done = (end: UnwindEnd, endModule?: string): UnwoundStack => ({ ips, end, framePointerFrames, framePointers, ...(endModule ? { endModule } : {}) });
  // The module whose frame was guessed by frame pointer for want of CFI (a file we could not
  // read): if that guess leads nowhere, the walk stopped for want of its unwind info.
  let guessedIn: string | undefined;

  for (let depth = 0; depth < maxDepth; depth++) {
    // A return address points after the call: look up the call itself.
    const lookup = depth === 0 || afterSignal ? pc : pc - 1;
    const loc = locate(lookup);
    if (!loc) return guessedIn ? done('no-unwind-info', guessedIn) : done('unmapped');
    ips.push(BigInt(pc));
    const row = loc.vaddr !== undefined ? loc.cfi?.rowAt(loc.vaddr) : undefined;
    let next: { pc: number | undefined; sp: number | undefined; bp: number | undefined } | 'root';
    guessedIn = undefined;
    if (row) {
      next = stepByCfi(row, pc, sp, bp, read);
      afterSignal = row.signalFrame;
    } else {
      // No FDE here: the frame-pointer chain (JIT code keeps one; so do -fno-omit-frame-pointer builds).
      // A zero bp ends a frame-pointer chain, but in a file we could not read it proves nothing.
      if (bp === undefined || bp === 0) return done(bp === 0 && !(loc.fileBacked && !loc.cfi) ? 'root' : 'no-unwind-info', loc.module);
      if (bp < sp) return done(loc.fileBacked && !loc.cfi ? 'no-unwind-info' : 'bad-frame', loc.module);
      framePointerFrames++;
      framePointers[ips.length - 1] = bp;
      if (loc.fileBacked && !loc.cfi) guessedIn = loc.module;
      next = { pc: read(bp + 8), sp: bp + 16, bp: read(bp) };
      afterSignal = false;
    }
    if (next === 'root') return done('root');
    if (next.pc === undefined || next.sp === undefined) return done('snapshot');
    if (next.pc === 0) return done('root');
    if (next.sp <= sp) return guessedIn ? done('no-unwind-info', guessedIn) : done('bad-frame', loc.module);
    pc = next.pc;
    sp = next.sp;
    bp = next.bp;
  }
  return done('depth');
}

function stepByCfi(
  row: UnwindRow,
  pc: number,
  sp: number,
  bp: number | undefined,
  read: (address: number) => number | undefined,
): { pc: number | undefined; sp: number | undefined; bp: number | undefined } | 'root' {
  const regValue = (n: number): number | undefined => (n === REG_RSP ? sp : n === REG_RBP ? bp : n === REG_RA ? pc : undefined);
  const ctx = {
    reg: (n: number) => {
      const v = regValue(n);
      return v === undefined ? undefined : BigInt(v);
    },
    read: (address: bigint) => {
      const v = read(Number(address));
      return v === undefined ? undefined : BigInt(v);
    },
  };
  let cfa: number | undefined;
  if (row.cfa.kind === 'reg') {
    const r = regValue(row.cfa.reg);
    cfa = r === undefined ? undefined : r + row.cfa.offset;
  } else {
    const v = evaluate(row.cfa.expr, ctx);
    cfa = v === undefined || v >= BigInt(MAX_ADDRESS) ? undefined : Number(v);
  }
  if (cfa === undefined) return { pc: undefined, sp: undefined, bp: undefined };
  const ra = row.regs[REG_RA]!;
  if (ra.kind === 'undefined') return 'root';
  const apply = (rule: RegRule, current: number | undefined): number | undefined => {
    switch (rule.kind) {
      case 'same':
        return current;
      case 'undefined':
        return undefined;
      case 'offset':
        return read(cfa + rule.offset);
      case 'val_offset':
        return cfa + rule.offset;
      case 'register':
        return regValue(rule.reg);
      case 'expr': {
        const at = evaluate(rule.expr, ctx, BigInt(cfa));
        return at === undefined ? undefined : read(Number(at));
      }
      case 'val_expr': {
        const v = evaluate(rule.expr, ctx, BigInt(cfa));
        return v === undefined || v >= BigInt(MAX_ADDRESS) ? undefined : Number(v);
      }
    }
  };
  return { pc: apply(ra, undefined), sp: cfa, bp: apply(row.regs[REG_RBP]!, bp) };
}
