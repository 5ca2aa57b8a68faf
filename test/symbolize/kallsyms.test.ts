// Kernel symbols: a real symbol's address (read from /proc/kallsyms by the
// test) + 1 names that symbol; module columns, hidden (zero) addresses and
// addresses past every symbol on hand-made kallsyms text.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSymbolizer } from '../../src/symbolize/index.js';
import { KernelSymbols } from '../../src/symbolize/kallsyms.js';

function realSymbol(names: string[]): { name: string; addr: bigint } | undefined {
  const text = readFileSync('/proc/kallsyms', 'latin1');
  for (const name of names) {
    const m = new RegExp(`^([0-9a-f]+) [tT] ${name}$`, 'm').exec(text);
    if (m && BigInt(`0x${m[1]}`) !== 0n) return { name, addr: BigInt(`0x${m[1]}`) };
  }
  return undefined;
}

const known = realSymbol(['do_nanosleep', 'schedule', 'do_sys_poll']);
const skip = known ? undefined : '/proc/kallsyms addresses are hidden (run as root, kernel.kptr_restrict < 2)';

describe('kernel symbols', () => {
  it.skipIf(skip)(`names a real kernel function from its address + 1${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const { name, addr } = known as { name: string; addr: bigint };
    const symbolizer = createSymbolizer();
    const [frame, caller] = symbolizer.symbolizeKernel([addr + 1n, addr + 2n]);
    expect(frame).toMatchObject({ name, kind: 'kernel', module: '[kernel]' });
    expect(caller?.name).toBe(name); // a return address, looked up a byte earlier: still inside
    expect(symbolizer.kernelProblem()).toBeUndefined();
  });

  const text = [
    'ffffffff81000000 T _stext',
    'ffffffff81000100 t small_fn',
    'ffffffff81000200 T big_fn',
    'ffffffff81000300 D some_data',
    'ffffffffc0201000 t mod_fn\t[my_mod]',
    'ffffffffc0201080 t mod_fn2\t[my_mod]',
    'ffffffffc0300000 t bpf_prog_0123456789abcdef_handler\t[bpf]',
    '',
  ].join('\n');

  it('looks up by binary search, modules from the [mod] column, data symbols ignored', () => {
    const ks = new KernelSymbols(text);
    expect(ks.hidden).toBe(false);
    expect(ks.count).toBe(6);
    expect(ks.lookup(0xffffffff81000150n)).toMatchObject({ name: 'small_fn', module: '[kernel]', moduleOffset: 0x150n });
    expect(ks.lookup(0xffffffff81000380n)?.name).toBe('big_fn'); // the data symbol does not end it
    expect(ks.lookup(0xffffffffc0201090n)).toMatchObject({ name: 'mod_fn2', module: 'my_mod', moduleOffset: 0x90n });
    expect(ks.lookup(0xffffffffc0300010n)).toMatchObject({ name: 'bpf_prog_0123456789abcdef_handler', module: 'bpf' });
    expect(ks.lookup(0xffffffff80000000n)).toBeUndefined(); // below every symbol
    expect(ks.lookup(0xffffffffc0300000n + 0x100000n)).toBeUndefined(); // far past the last one
  });

  it('all-zero addresses (no root, kptr_restrict) are reported as hidden', () => {
    const ks = new KernelSymbols('0000000000000000 T _stext\n0000000000000000 t schedule\n');
    expect(ks.hidden).toBe(true);
    expect(ks.lookup(0xffffffff81000010n)).toBeUndefined();
  });

  it.skipIf(skip)('an address outside every symbol keeps [kernel]+0xoffset', () => {
    const [frame] = createSymbolizer().symbolizeKernel([0x10n]);
    expect(frame?.name).toBe('[kernel]+0x10');
    expect(frame?.kind).toBe('kernel');
  });
});
