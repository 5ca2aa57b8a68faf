// Member offsets of C structs as the compiler lays them out, so a TS decoder
// can be checked against the header that crosses the kernel boundary (as the
// host's cc lays it out; test/architecture/record-layouts.test.ts checks the
// same layouts against the BPF objects' BTF).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordLayout } from '../../src/captures/records.js';

/** How `cValues` compiles: lines before main (includes, defines) and include directories. */
export interface CProgram {
  preamble: string[];
  includeDirs?: string[];
}

/** Each named C expression's value (size_t) as the host's cc computes it, compiled with `program`. */
export function cValues(program: CProgram, exprs: Record<string, string>): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-cvalues-'));
  try {
    const prints = Object.entries(exprs).map(([name, expr]) => `printf("%s %zu\\n", "${name}", (size_t)(${expr}));`);
    const source = [...program.preamble, '#include <stddef.h>', '#include <stdio.h>', `int main(void) {\n${prints.join('\n')}\nreturn 0;\n}\n`].join('\n');
    writeFileSync(join(dir, 'values.c'), source);
    const includes = (program.includeDirs ?? []).flatMap((d) => ['-I', d]);
    execFileSync('cc', [...includes, '-o', join(dir, 'values'), join(dir, 'values.c')], { timeout: 60_000 });
    const out = execFileSync(join(dir, 'values'), { encoding: 'utf8' });
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([k, v]) => [k!, Number(v)]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** offsetof() of each `struct.member` (and sizeof of each struct as `struct.sizeof`), compiled from `header`. */
export function cLayout(header: string, fields: Record<string, string[]>): Record<string, number> {
  const exprs = Object.fromEntries(
    Object.entries(fields).flatMap(([struct, members]) => [
      [`${struct}.sizeof`, `sizeof(struct ${struct})`],
      ...members.map((m) => [`${struct}.${m}`, `offsetof(struct ${struct}, ${m})`]),
    ]),
  );
  return cValues({ preamble: ['#include <stddef.h>', '#include <linux/types.h>', `#include "${header}"`] }, exprs);
}

/** `layout`'s size and offsets as cc lays its struct out from `header` (equal to the layout's when they agree). */
export function cRecordLayout(header: string, layout: RecordLayout): { struct: string; size: number; offsets: Record<string, number> } {
  const c = cLayout(header, { [layout.struct]: Object.keys(layout.offsets) });
  const offsets = Object.fromEntries(Object.keys(layout.offsets).map((m) => [m, c[`${layout.struct}.${m}`]!]));
  return { struct: layout.struct, size: c[`${layout.struct}.sizeof`]!, offsets };
}
