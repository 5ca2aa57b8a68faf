// The unwind memo reuses a walk only when every stack word the walk read is
// unchanged: a frame-pointer chain in code without CFI (as JIT code is), built
// by hand, sampled again with the same registers.
import { describe, expect, it } from 'vitest';
import { UnwindMemo, unwindStack, type CodeLocation, type StackSnapshot } from '../../src/unwind/index.js';

const SP = 0x7ffd_0000_1000;
const CODE = { start: 0x40_0000, end: 0x50_0000 };
const locate = (pc: number): CodeLocation | undefined => (pc >= CODE.start && pc < CODE.end ? { module: '[jit]', fileBacked: false } : undefined);

/** ip in the leaf; two frames up the bp chain (return addresses `callers`), a local word at sp+8. */
function snapshot(callers: [number, number], local = 7n): StackSnapshot {
  const data = Buffer.alloc(0x80);
  data.writeBigUInt64LE(local, 0x08);
  data.writeBigUInt64LE(BigInt(SP + 0x40), 0x20); // the leaf's saved bp → the next frame
  data.writeBigUInt64LE(BigInt(callers[0]), 0x28);
  data.writeBigUInt64LE(0n, 0x40); // the outermost frame: bp 0 ends the chain
  data.writeBigUInt64LE(BigInt(callers[1]), 0x48);
  return { ip: 0x40_0100n, sp: BigInt(SP), bp: BigInt(SP + 0x20), data };
}

describe('unwind memo', () => {
  it('reuses a walk whose read words are unchanged, and walks again when one changed', () => {
    const memo = new UnwindMemo();
    const first = memo.unwind(1, snapshot([0x40_1000, 0x40_2000]), locate, 32);
    expect(first).toEqual(unwindStack(snapshot([0x40_1000, 0x40_2000]), locate, 32));
    expect(first.ips).toEqual([0x40_0100n, 0x40_1000n, 0x40_2000n]);
    expect(first.end).toBe('root');

    // Same place, a local variable changed: the walk never read it.
    expect(memo.unwind(1, snapshot([0x40_1000, 0x40_2000], 99n), locate, 32)).toBe(first);
    expect(memo.hits).toBe(1);

    // Another caller: a word the walk read differs, so it walks again.
    const other = memo.unwind(1, snapshot([0x40_1000, 0x40_3000]), locate, 32);
    expect(other.ips).toEqual([0x40_0100n, 0x40_1000n, 0x40_3000n]);
    expect(memo.hits).toBe(1);

    // Another process with the same registers is its own entry.
    memo.unwind(2, snapshot([0x40_1000, 0x40_3000]), locate, 32);
    expect(memo.hits).toBe(1);
    // And the walk just made is the one reused now.
    expect(memo.unwind(1, snapshot([0x40_1000, 0x40_3000]), locate, 32)).toBe(other);
    expect(memo.hits).toBe(2);
  });

  it('a shorter copy that cuts off a word the walk read is walked again', () => {
    const memo = new UnwindMemo();
    memo.unwind(1, snapshot([0x40_1000, 0x40_2000]), locate, 32);
    const cut = snapshot([0x40_1000, 0x40_2000]);
    const short = memo.unwind(1, { ...cut, data: cut.data.subarray(0, 0x30) }, locate, 32);
    expect(short.end).toBe('snapshot');
    expect(memo.hits).toBe(0);
  });
});
