// The ELF reader on files this test builds: function symbols against what
// `readelf -s` lists (independent of our reader), PT_LOAD segments, build id,
// and symbols from a separate debug file when the binary is stripped.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/symbolize/elf.js';
import { vaddrOfFileOffset } from '../../src/symbolize/process-maps.js';
import { ccSkipReason, STRIPPED_C, STRIP_EXPORT, Workdir } from './programs.js';

const noCc = ccSkipReason();
function toolSkipReason(): string | undefined {
  try {
    execFileSync('readelf', ['--version'], { stdio: 'ignore' });
    execFileSync('strip', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs binutils (readelf, strip)';
  }
}
const skip = noCc ?? toolSkipReason();

interface ReadelfSymbol {
  value: number;
  size: number;
  name: string;
}

/** FUNC symbols of .symtab as readelf prints them. */
function readelfFunctions(file: string): ReadelfSymbol[] {
  const text = execFileSync('readelf', ['-sW', file], { encoding: 'utf8' });
  const out: ReadelfSymbol[] = [];
  let inSymtab = false;
  for (const line of text.split('\n')) {
    if (line.startsWith("Symbol table '")) inSymtab = line.includes("'.symtab'");
    const f = line.trim().split(/\s+/);
    // Num: Value Size Type Bind Vis Ndx Name
    if (inSymtab && f[3] === 'FUNC' && f[6] !== 'UND' && f[7]) {
      out.push({ value: parseInt(f[1] as string, 16), size: Number(f[2]), name: (f[7] as string).replace(/@.*/, '') });
    }
  }
  return out;
}

const SOURCE = `${STRIPPED_C}
int many_a_1(int x) { return x * 2 + 1; }
int many_b_2(int x) { return many_a_1(x) ^ 7; }
static int many_c_3(int x) { return many_b_2(x) - 3; }
int many_d_4(int x) { return many_c_3(x) + many_a_1(x); }
`;

describe.skipIf(skip)(`ELF reader${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir: Workdir;
  let lib: string;
  let stripped: string;

  beforeAll(() => {
    dir = new Workdir();
    dir.write('lib.c', SOURCE);
    lib = dir.file('libelftest.so');
    stripped = dir.file('libelftest-stripped.so');
    dir.cc(['-O0', '-g0', '-shared', '-fPIC', '-o', lib, 'lib.c']);
    execFileSync('strip', ['--strip-all', '-o', stripped, lib]);
  });
  afterAll(() => dir?.remove());

  it('finds every sized FUNC symbol readelf lists, at its start, middle and last byte', () => {
    const expected = readelfFunctions(lib).filter((s) => s.size > 0);
    expect(expected.map((s) => s.name)).toEqual(expect.arrayContaining(['hidden_work_5e1d', 'many_c_3', STRIP_EXPORT]));
    const elf = ElfFile.open(lib);
    for (const s of expected) {
      for (const at of [s.value, s.value + Math.floor(s.size / 2), s.value + s.size - 1]) {
        expect(elf.lookup(at)?.name, `0x${at.toString(16)}`).toBe(s.name);
      }
    }
    expect(elf.isOpen).toBe(false); // closed once the symbols are in memory
  });

  it('reads PT_LOAD segments: the executable one maps file offsets to the addresses readelf shows', () => {
    const elf = ElfFile.open(lib);
    const text = execFileSync('readelf', ['-lW', lib], { encoding: 'utf8' });
    const loads = [...text.matchAll(/^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/gm)].map((m) => ({
      offset: parseInt(m[1] as string, 16),
      vaddr: parseInt(m[2] as string, 16),
      filesz: parseInt(m[3] as string, 16),
      memsz: parseInt(m[4] as string, 16),
    }));
    expect(elf.segments.map(({ offset, vaddr, filesz, memsz }) => ({ offset, vaddr, filesz, memsz }))).toEqual(loads);
    const fn = readelfFunctions(lib).find((s) => s.name === 'many_b_2') as ReadelfSymbol;
    const seg = loads.find((l) => fn.value >= l.vaddr && fn.value < l.vaddr + l.filesz) as (typeof loads)[number];
    expect(vaddrOfFileOffset(elf.segments, fn.value - seg.vaddr + seg.offset)).toBe(fn.value);
    elf.close();
  });

  it('a stripped file keeps only .dynsym; a separate debug file with the same build id gives the rest', () => {
    const hidden = readelfFunctions(lib).find((s) => s.name === 'hidden_work_5e1d') as ReadelfSymbol;
    const bare = ElfFile.open(stripped);
    const full = ElfFile.open(lib);
    expect(bare.buildId).toBe(full.buildId);
    full.close();
    expect(bare.lookup(hidden.value + 1)).toBeUndefined();
    expect(bare.lookup(readelfFunctions(lib).find((s) => s.name === STRIP_EXPORT)!.value)?.name).toBe(STRIP_EXPORT);

    const withDebug = ElfFile.open(stripped, { debugCandidates: () => [dir.file('missing.debug'), lib] });
    expect(withDebug.lookup(hidden.value + 1)?.name).toBe('hidden_work_5e1d');
    expect(withDebug.debugFile).toBe(lib);

    // A debug file of another build is ignored.
    dir.cc(['-O0', '-g0', '-shared', '-fPIC', '-DOTHER=1', '-Wl,--build-id=0x1234', '-o', dir.file('other.so'), 'lib.c']);
    const wrong = ElfFile.open(stripped, { debugCandidates: () => [dir.file('other.so')] });
    expect(wrong.lookup(hidden.value + 1)).toBeUndefined();
  });

  it("names a stripped program's entry code _start (where its stacks begin), and nothing past it", () => {
    dir.write('main.c', 'int main(void) { return 0; }');
    const program = dir.file('prog-stripped');
    dir.cc(['-O2', '-s', '-o', program, 'main.c']);
    const entry = parseInt(/Entry point address:\s+0x([0-9a-f]+)/.exec(execFileSync('readelf', ['-h', program], { encoding: 'utf8' }))![1]!, 16);
    const elf = ElfFile.open(program);
    try {
      expect(elf.entry).toBe(entry);
      expect(readelfFunctions(program)).toEqual([]); // no .symtab: only the entry rule can name it
      expect(elf.lookup(entry + 5)?.name).toBe('_start');
      expect(elf.lookup(entry + 64)?.name).not.toBe('_start');
    } finally {
      elf.close();
    }
  });

  it('rejects what is not a 64-bit little-endian ELF', () => {
    expect(() => ElfFile.open(dir.write('not-elf', 'hello world, this is not an ELF file at all.........................'))).toThrow(/not an ELF/);
  });
});
