// Runs an FDE's call-frame instructions (after its CIE's initial ones) up to
// an address: the unwind row there says how to find the canonical frame
// address (CFA) and where the caller's registers were saved. x86-64 DWARF
// register numbers: 6 rbp, 7 rsp, 16 the return address (rip).
import type { Cie, Fde } from './cfi-table.js';
import { DwarfReader } from './dwarf-reader.js';

export const REG_RBP = 6;
export const REG_RSP = 7;
export const REG_RA = 16;
/** Rules kept per row: registers 0..16 (the general registers and the return address). */
const REGS = 17;

export type CfaRule = { kind: 'reg'; reg: number; offset: number } | { kind: 'expr'; expr: Buffer };

export type RegRule =
  | { kind: 'same' }
  | { kind: 'undefined' }
  /** Saved at CFA + offset. */
  | { kind: 'offset'; offset: number }
  /** Is CFA + offset. */
  | { kind: 'val_offset'; offset: number }
  | { kind: 'register'; reg: number }
  /** Saved at the address the expression computes (CFA pushed first). */
  | { kind: 'expr'; expr: Buffer }
  | { kind: 'val_expr'; expr: Buffer };

export interface UnwindRow {
  cfa: CfaRule;
  regs: RegRule[];
  signalFrame: boolean;
}

const SAME: RegRule = { kind: 'same' };

export function rowAt(section: Buffer, address: number, fde: Fde, vaddr: number): UnwindRow {
  const cie = fde.cie;
  const state: { cfa: CfaRule; regs: RegRule[] } = { cfa: { kind: 'reg', reg: REG_RSP, offset: 8 }, regs: new Array<RegRule>(REGS).fill(SAME) };
  run(section, address, cie, cie.initial, state, Infinity, fde.start, undefined);
  const initialRegs = [...state.regs];
  run(section, address, cie, fde.program, state, vaddr, fde.start, initialRegs);
  return { cfa: state.cfa, regs: state.regs, signalFrame: cie.signalFrame };
}

function run(
  section: Buffer,
  address: number,
  cie: Cie,
  [start, end]: [number, number],
  state: { cfa: CfaRule; regs: RegRule[] },
  target: number,
  initialLoc: number,
  initialRegs: RegRule[] | undefined,
): void {
  const r = new DwarfReader(section, start, address);
  const stack: { cfa: CfaRule; regs: RegRule[] }[] = [];
  let loc = initialLoc;
  const set = (reg: number, rule: RegRule) => {
    if (reg < REGS) state.regs[reg] = rule;
  };
  const restore = (reg: number) => {
    if (reg < REGS) state.regs[reg] = initialRegs?.[reg] ?? SAME;
  };
  const advance = (delta: number) => {
    loc += delta * cie.codeAlign;
    return loc > target; // the row for target is complete
  };
  while (r.pos < end) {
    const op = r.u8();
    const high = op & 0xc0;
    const low = op & 0x3f;
    if (high === 0x40) {
      if (advance(low)) return;
      continue;
    }
    if (high === 0x80) {
      set(low, { kind: 'offset', offset: r.uleb() * cie.dataAlign });
      continue;
    }
    if (high === 0xc0) {
      restore(low);
      continue;
    }
    switch (op) {
      case 0x00:
        break; // nop
      case 0x01:
        loc = r.encoded(cie.fdeEncoding);
        if (loc > target) return;
        break; // set_loc
      case 0x02:
        if (advance(r.u8())) return;
        break;
      case 0x03:
        if (advance(r.u16())) return;
        break;
      case 0x04:
        if (advance(r.u32())) return;
        break;
      case 0x05:
        set(r.uleb(), { kind: 'offset', offset: r.uleb() * cie.dataAlign });
        break;
      case 0x06:
        restore(r.uleb());
        break;
      case 0x07:
        set(r.uleb(), { kind: 'undefined' });
        break;
      case 0x08:
        set(r.uleb(), SAME);
        break;
      case 0x09: {
        const reg = r.uleb();
        set(reg, { kind: 'register', reg: r.uleb() });
        break;
      }
      case 0x0a:
        stack.push({ cfa: state.cfa, regs: [...state.regs] });
        break; // remember_state
      case 0x0b: {
        const s = stack.pop();
        if (s) {
          state.cfa = s.cfa;
          state.regs = s.regs;
        }
        break;
      } // restore_state
      case 0x0c:
        state.cfa = { kind: 'reg', reg: r.uleb(), offset: r.uleb() };
        break;
      case 0x0d:
        state.cfa = { kind: 'reg', reg: r.uleb(), offset: state.cfa.kind === 'reg' ? state.cfa.offset : 0 };
        break;
      case 0x0e:
        state.cfa = { kind: 'reg', reg: state.cfa.kind === 'reg' ? state.cfa.reg : REG_RSP, offset: r.uleb() };
        break;
      case 0x0f: {
        const n = r.uleb();
        state.cfa = { kind: 'expr', expr: section.subarray(r.pos, r.pos + n) };
        r.pos += n;
        break;
      }
      case 0x10: {
        const reg = r.uleb();
        const n = r.uleb();
        set(reg, { kind: 'expr', expr: section.subarray(r.pos, r.pos + n) });
        r.pos += n;
        break;
      }
      case 0x11:
        set(r.uleb(), { kind: 'offset', offset: r.sleb() * cie.dataAlign });
        break;
      case 0x12:
        state.cfa = { kind: 'reg', reg: r.uleb(), offset: r.sleb() * cie.dataAlign };
        break;
      case 0x13:
        state.cfa = { kind: 'reg', reg: state.cfa.kind === 'reg' ? state.cfa.reg : REG_RSP, offset: r.sleb() * cie.dataAlign };
        break;
      case 0x14:
        set(r.uleb(), { kind: 'val_offset', offset: r.uleb() * cie.dataAlign });
        break;
      case 0x15:
        set(r.uleb(), { kind: 'val_offset', offset: r.sleb() * cie.dataAlign });
        break;
      case 0x16: {
        const reg = r.uleb();
        const n = r.uleb();
        set(reg, { kind: 'val_expr', expr: section.subarray(r.pos, r.pos + n) });
        r.pos += n;
        break;
      }
      case 0x2e:
        r.uleb();
        break; // GNU_args_size
      case 0x2f:
        set(r.uleb(), { kind: 'offset', offset: -r.uleb() * cie.dataAlign });
        break;
      default:
        throw new Error(`unknown call-frame instruction 0x${op.toString(16)}`);
    }
  }
}
