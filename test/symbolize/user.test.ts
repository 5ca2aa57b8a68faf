// User-space symbolization against programs this test compiles and runs:
// PIE, non-PIE and a shared library of its own, a stripped library and an
// anonymous executable mapping; and a pid that exited (its binary deleted)
// after it was noted.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearElfCache, createSymbolizer } from '../../src/symbolize/index.js';
import { ElfFile } from '../../src/symbolize/elf.js';
import { ccSkipReason, LIB_C, LIB_FN, MAIN_FN, mapsOf, PROGRAM_C, readelfBuildId, STRIPPED_C, Workdir } from './programs.js';

const noCc = ccSkipReason();

describe.skipIf(noCc)(`user symbolization of compiled programs${noCc ? ` (skipped: ${noCc})` : ''}`, () => {
  let dir: Workdir;
  let pie: string;
  let nopie: string;
  let withLibs: string;
  let lib: string;
  let stripped: string;
  const chosenBuildId = randomBytes(20).toString('hex');

  beforeAll(() => {
    dir = new Workdir();
    dir.write('prog.c', PROGRAM_C);
    dir.write('lib.c', LIB_C);
    dir.write('strip.c', STRIPPED_C);
    pie = dir.file('prog-pie');
    nopie = dir.file('prog-nopie');
    withLibs = dir.file('prog-libs');
    lib = dir.file('libsherlocktest.so');
    stripped = dir.file('libsherlockstrip.so');
    dir.cc(['-O0', '-g0', '-fPIE', '-pie', '-o', pie, 'prog.c']);
    dir.cc(['-O0', '-g0', '-fno-pie', '-no-pie', `-Wl,--build-id=0x${chosenBuildId}`, '-o', nopie, 'prog.c']);
    dir.cc(['-O0', '-g0', '-shared', '-fPIC', '-o', lib, 'lib.c']);
    dir.cc(['-O0', '-g0', '-shared', '-fPIC', '-s', '-o', stripped, 'strip.c']);
    dir.cc(['-O0', '-g0', '-fPIE', '-pie', '-DWITH_LIB', '-DWITH_STRIPPED', '-o', withLibs, 'prog.c', lib, stripped, `-Wl,-rpath,${dir.path}`]);
  });

  afterAll(() => dir?.remove());

  it('names a function of a PIE executable, with module and the build id readelf reports', async () => {
    const { child, pid, addrs } = await dir.start(pie);
    try {
      const addr = addrs.get('main') as bigint;
      const symbolizer = createSymbolizer();
      // A leaf address and the same one as a return address (looked up a byte earlier).
      const frames = symbolizer.symbolizeUser(pid, [addr + 5n, addr + 6n]);
      expect(frames.map((f) => f.name)).toEqual([MAIN_FN, MAIN_FN]);
      const [frame] = frames;
      expect(frame?.kind).toBe('user');
      expect(frame?.module).toBe(basename(pie));
      const expectedId = readelfBuildId(pie);
      if (expectedId) expect(frame?.buildId).toBe(expectedId);
      else expect(frame?.buildId).toMatch(/^[0-9a-f]{16,}$/); // no readelf: at least present
      // PIE: the runtime address is far from the link-time one; the offset is the file offset.
      const maps = mapsOf(readFileSync(`/proc/${pid}/maps`, 'utf8'));
      const m = maps.find((x) => x.start <= addr && addr < x.end);
      expect(frame?.offset).toBe(Number(addr + 5n - (m as { start: bigint }).start + (m as { offset: bigint }).offset));
    } finally {
      await dir.finish(child);
    }
  });

  it('names a function of a non-PIE executable; build id is the one the link set', async () => {
    const { child, pid, addrs } = await dir.start(nopie);
    try {
      const addr = addrs.get('main') as bigint;
      expect(addr).toBeLessThan(0x1000_0000n); // really linked at a fixed low address
      const [frame] = createSymbolizer().symbolizeUser(pid, [addr + 3n]);
      expect(frame).toMatchObject({ name: MAIN_FN, kind: 'user', module: basename(nopie), buildId: chosenBuildId });
    } finally {
      await dir.finish(child);
    }
  });

  it('names a function of a shared library the program loads, and the library as module', async () => {
    const { child, pid, addrs } = await dir.start(withLibs);
    try {
      const symbolizer = createSymbolizer();
      symbolizer.notePid(pid);
      const libAddr = addrs.get('lib') as bigint;
      const mainAddr = addrs.get('main') as bigint;
      const frames = symbolizer.symbolizeUser(pid, [libAddr + 4n, mainAddr + 8n]);
      expect(frames[0]).toMatchObject({ name: LIB_FN, kind: 'user', module: 'libsherlocktest.so' });
      expect(frames[1]).toMatchObject({ name: MAIN_FN, module: basename(withLibs) });
      const expectedId = readelfBuildId(lib);
      if (expectedId) expect(frames[0]?.buildId).toBe(expectedId);
      expect(frames[0]?.buildId).not.toBe(frames[1]?.buildId);
    } finally {
      await dir.finish(child);
    }
  });

  it('keeps module+0xoffset for a stripped library, names anonymous code [JIT code], never [unknown]', async () => {
    const { child, pid, addrs } = await dir.start(withLibs);
    try {
      const maps = mapsOf(readFileSync(`/proc/${pid}/maps`, 'utf8'));
      const strippedAddr = (addrs.get('stripped') as bigint) + 2n;
      const anonAddr = (addrs.get('anon') as bigint) + 0x10n;
      const inStripped = maps.find((m) => m.start <= strippedAddr && strippedAddr < m.end);
      const inAnon = maps.find((m) => m.start <= anonAddr && anonAddr < m.end);
      expect(inStripped?.path).toBe(stripped);
      expect(inAnon?.path).toBe('');
      const strippedOffset = strippedAddr - (inStripped as { start: bigint }).start + (inStripped as { offset: bigint }).offset;
      const anonOffset = anonAddr - (inAnon as { start: bigint }).start;

      const frames = createSymbolizer().symbolizeUser(pid, [strippedAddr, anonAddr]);
      expect(frames[0]).toMatchObject({
        name: `libsherlockstrip.so+0x${strippedOffset.toString(16)}`,
        kind: 'user',
        module: 'libsherlockstrip.so',
        offset: Number(strippedOffset),
      });
      // Executable anonymous memory is a JIT's: one name for all of it, its offset kept.
      expect(frames[1]).toMatchObject({ name: '[JIT code]', kind: 'jit', module: '[anon]', offset: Number(anonOffset) });
      for (const f of frames) expect(f.name).not.toMatch(/^\[unknown\]$/);
      // The stripped file really has no symbol there (only .dynsym, without the static function).
      const elf = ElfFile.open(stripped);
      expect(elf.sections.some((s) => s.name === '.symtab')).toBe(false);
      elf.close();
    } finally {
      await dir.finish(child);
    }
  });

  it('still symbolizes a noted pid after it exited and its binary was deleted', async () => {
    const copy = dir.file('prog-gone');
    dir.cc(['-O0', '-g0', '-fPIE', '-pie', '-DWITH_LIB', '-o', copy, 'prog.c', lib, `-Wl,-rpath,${dir.path}`]);
    const { child, pid, addrs } = await dir.start(copy);
    clearElfCache(); // nothing loaded before the note: what the note holds must do
    const symbolizer = createSymbolizer();
    symbolizer.notePid(pid);
    await dir.finish(child);
    rmSync(copy);
    expect(() => readFileSync(`/proc/${pid}/maps`)).toThrow();
    const frames = symbolizer.symbolizeUser(pid, [(addrs.get('main') as bigint) + 4n, (addrs.get('lib') as bigint) + 4n]);
    expect(frames.map((f) => f.name)).toEqual([MAIN_FN, LIB_FN]);
    expect(frames[0]?.module).toBe('prog-gone');
    // Noting it again now neither throws nor forgets what was read.
    symbolizer.notePid(pid);
    expect(symbolizer.processInfo(pid)?.alive).toBe(false);
    expect(symbolizer.symbolizeUser(pid, [(addrs.get('main') as bigint) + 4n])[0]?.name).toBe(MAIN_FN);
  });

  it('an unnoted pid that is gone gives [unknown]+0xaddress frames, not a throw', async () => {
    const { child, pid, addrs } = await dir.start(pie);
    await dir.finish(child);
    const addr = addrs.get('main') as bigint;
    const [frame] = createSymbolizer().symbolizeUser(pid, [addr]);
    expect(frame?.name).toBe(`[unknown]+0x${addr.toString(16)}`);
    expect(frame?.kind).toBe('unknown');
  });
});
