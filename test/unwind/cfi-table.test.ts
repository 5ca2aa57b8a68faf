// The CFI parser and interpreter against binutils: for every FDE of real
// binaries (libc, the node binary), the row our interpreter computes at each
// location readelf's `--debug-dump=frames-interp` prints must give the same
// CFA rule and the same saved rbp / return-address slots.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/symbolize/elf.js';
import { CfiTable, moduleCfi } from '../../src/unwind/index.js';
import type { RegRule } from '../../src/unwind/cfa-program.js';

const REG_NAMES = ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'ra'];

interface Expected {
  loc: number;
  cfa: string;
  rules: Map<string, string>;
}

/** Rows of readelf -wF for the .eh_frame section, capped. */
function readelfRows(path: string, maxRows: number): Expected[] {
  // readelf exits 1 on warnings about sections it does not know; its stdout is whole.
  const text = spawnSync('readelf', ['--debug-dump=frames-interp', path], { maxBuffer: 512 << 20, encoding: 'utf8' }).stdout;
  const rows: Expected[] = [];
  let columns: string[] = [];
  let inFde = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('Contents of the .debug_frame')) break;
    if (/ FDE cie=/.test(line)) {
      inFde = true;
      continue;
    }
    if (/ CIE /.test(line)) inFde = false;
    const header = /^\s+LOC\s+CFA\s+(.*)$/.exec(line);
    if (header) {
      columns = header[1]!.trim().split(/\s+/).filter(Boolean);
      continue;
    }
    const row = /^([0-9a-f]{16}) (\S+)\s+(.*)$/.exec(line);
    if (!row || !inFde) continue;
    // A register rule prints as "r1 (rdx)": one cell.
    const cells = (row[3]!.match(/\S+(?: \([^)]*\))?/g) ?? []).map((c) => c.replace(/ \(.*\)$/, ''));
    rows.push({ loc: parseInt(row[1]!, 16), cfa: row[2]!, rules: new Map(columns.map((c, i) => [c, cells[i] ?? ''])) });
    if (rows.length >= maxRows) break;
  }
  return rows;
}

function describeRule(rule: RegRule): string {
  switch (rule.kind) {
    case 'offset':
      return `c${rule.offset >= 0 ? '+' : ''}${rule.offset}`;
    case 'undefined':
    case 'same':
      return 'u';
    case 'val_offset':
      return `v${rule.offset >= 0 ? '+' : ''}${rule.offset}`;
    case 'register':
      return `r${rule.reg}`;
    default:
      return 'exp';
  }
}

const binaries = ['/lib/x86_64-linux-gnu/libc.so.6', process.execPath].filter((p) => existsSync(p));

describe('CFI tables against readelf', () => {
  it.each(binaries)('%s: CFA, rbp and return-address rules match at every row', (path) => {
    const expected = readelfRows(path, 40_000);
    expect(expected.length).toBeGreaterThan(1000);
    const elf = ElfFile.open(path);
    try {
      const cfi = moduleCfi(elf);
      expect(cfi).toBeDefined();
      let compared = 0;
      for (const e of expected) {
        const row = cfi!.rowAt(e.loc);
        expect(row, `row at 0x${e.loc.toString(16)}`).toBeDefined();
        const cfa = row!.cfa.kind === 'expr' ? 'exp' : `${REG_NAMES[row!.cfa.reg]}${row!.cfa.offset >= 0 ? '+' : ''}${row!.cfa.offset}`;
        expect(cfa, `CFA at 0x${e.loc.toString(16)}`).toBe(e.cfa);
        for (const [name, reg] of [
          ['rbp', 6],
          ['ra', 16],
        ] as const) {
          const want = e.rules.get(name);
          if (want === undefined || want === '') continue;
          expect(describeRule(row!.regs[reg]!), `${name} at 0x${e.loc.toString(16)}`).toBe(want === 's' ? 'u' : want);
        }
        compared++;
      }
      expect(compared).toBe(expected.length);

      // The full parse (what .debug_frame and files without .eh_frame_hdr use) finds the same FDEs as the header's table.
      const section = elf.sections.find((x) => x.name === '.eh_frame')!;
      const parsed = new CfiTable(elf.sectionData('.eh_frame')!, section.addr, 'eh_frame');
      expect(parsed.size).toBe(cfi!.fdeCount);
      for (const e of expected.filter((_, i) => i % 7 === 0)) {
        const fde = parsed.find(e.loc);
        expect(fde, `parsed FDE at 0x${e.loc.toString(16)}`).toBeDefined();
        expect(fde!.start).toBeLessThanOrEqual(e.loc);
        expect(fde!.end).toBeGreaterThan(e.loc);
      }
    } finally {
      elf.close();
    }
  });
});
