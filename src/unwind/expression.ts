// DWARF expressions as call-frame information uses them: the CFA of PLT
// entries (rsp + 8, + 8 more past the push), signal frames (registers saved in
// the ucontext on the stack). Values are unsigned 64-bit (BigInt); a register
// the unwinder does not know, or memory outside the stack copy, fails it.
import { DwarfReader } from './dwarf-reader.js';

export interface ExpressionContext {
  /** A register's value at this frame, or undefined when unknown. */
  reg(n: number): bigint | undefined;
  /** 8 bytes of memory, or undefined when not in the stack copy. */
  read(address: bigint): bigint | undefined;
}

const MASK = (1n << 64n) - 1n;

export function evaluate(expr: Buffer, ctx: ExpressionContext, initial?: bigint): bigint | undefined {
  const r = new DwarfReader(expr, 0);
  const stack: bigint[] = initial === undefined ? [] : [initial];
  const pop = (): bigint => {
    const v = stack.pop();
    if (v === undefined) throw new Error('expression stack underflow');
    return v;
  };
  const binary = (f: (a: bigint, b: bigint) => bigint) => {
    const b = pop();
    const a = pop();
    stack.push(f(a, b) & MASK);
  };
  const signed = (v: bigint) => BigInt.asIntN(64, v);
  try {
    while (r.pos < expr.length) {
      const op = r.u8();
      if (op >= 0x30 && op <= 0x4f) {
        stack.push(BigInt(op - 0x30));
        continue;
      }
      if (op >= 0x70 && op <= 0x8f) {
        const v = ctx.reg(op - 0x70);
        if (v === undefined) return undefined;
        stack.push((v + BigInt(r.sleb())) & MASK);
        continue;
      }
      switch (op) {
        case 0x06: {
          const v = ctx.read(pop());
          if (v === undefined) return undefined;
          stack.push(v);
          break;
        } // deref
        case 0x08:
          stack.push(BigInt(r.u8()));
          break;
        case 0x09:
          stack.push(BigInt(expr.readInt8(r.pos++)) & MASK);
          break;
        case 0x0a:
          stack.push(BigInt(r.u16()));
          break;
        case 0x0b:
          stack.push(BigInt(expr.readInt16LE(r.pos)) & MASK);
          r.pos += 2;
          break;
        case 0x0c:
          stack.push(BigInt(r.u32()));
          break;
        case 0x0d:
          stack.push(BigInt(r.i32()) & MASK);
          break;
        case 0x0e:
          stack.push(expr.readBigUInt64LE(r.pos));
          r.pos += 8;
          break;
        case 0x0f:
          stack.push(expr.readBigUInt64LE(r.pos));
          r.pos += 8;
          break;
        case 0x10:
          stack.push(BigInt(r.uleb()));
          break;
        case 0x11:
          stack.push(BigInt(r.sleb()) & MASK);
          break;
        case 0x12: {
          const v = pop();
          stack.push(v, v);
          break;
        }
        case 0x13:
          pop();
          break;
        case 0x14: {
          const b = pop();
          const a = pop();
          stack.push(a, b, a);
          break;
        }
        case 0x16: {
          const b = pop();
          const a = pop();
          stack.push(b, a);
          break;
        }
        case 0x1a:
          binary((a, b) => a & b);
          break;
        case 0x1c:
          binary((a, b) => a - b);
          break;
        case 0x1e:
          binary((a, b) => a * b);
          break;
        case 0x1f:
          stack.push(-pop() & MASK);
          break;
        case 0x20:
          stack.push(~pop() & MASK);
          break;
        case 0x21:
          binary((a, b) => a | b);
          break;
        case 0x22:
          binary((a, b) => a + b);
          break;
        case 0x23:
          stack.push((pop() + BigInt(r.uleb())) & MASK);
          break;
        case 0x24:
          binary((a, b) => a << b);
          break;
        case 0x25:
          binary((a, b) => a >> b);
          break;
        case 0x27:
          binary((a, b) => a ^ b);
          break;
        case 0x29:
          binary((a, b) => (signed(a) === signed(b) ? 1n : 0n));
          break;
        case 0x2a:
          binary((a, b) => (signed(a) >= signed(b) ? 1n : 0n));
          break;
        case 0x2b:
          binary((a, b) => (signed(a) > signed(b) ? 1n : 0n));
          break;
        case 0x2c:
          binary((a, b) => (signed(a) <= signed(b) ? 1n : 0n));
          break;
        case 0x2d:
          binary((a, b) => (signed(a) < signed(b) ? 1n : 0n));
          break;
        case 0x2e:
          binary((a, b) => (signed(a) !== signed(b) ? 1n : 0n));
          break;
        case 0x96:
          break; // nop
        default:
          return undefined; // not needed for call frames in practice
      }
    }
  } catch {
    return undefined;
  }
  return stack.pop();
}
