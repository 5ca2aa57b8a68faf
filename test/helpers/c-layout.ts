// Member offsets of C structs as the compiler lays them out, so a TS decoder
// can be checked against the header that crosses the kernel boundary (as the
// host's cc lays it out; test/architecture/record-layouts.test.ts checks the
// same layouts against the BPF objects' BTF).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordLayout } from '../../src/captures/records.js';

/** offsetof() of each `struct.member` (and sizeof of each struct as `struct.sizeof`), compiled from `header`. */
export function cLayout(header: string, fields: Record<string, string[]>): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-layout-'));
  try {
    const lines = Object.entries(fields).flatMap(([struct, members]) => [
      `printf("%s.sizeof %zu\\n", "${struct}", sizeof(struct ${struct}));`,
      ...members.map((m) => `printf("%s.%s %zu\\n", "${struct}", "${m}", offsetof(struct ${struct}, ${m}));`),
    ]);
    const source = `#include <stddef.h>\n#include <stdio.h>\n#include <linux/types.h>\n#include "${header}"\nint main(void) {\n${lines.join('\n')}\nreturn 0;\n}\n`;
    writeFileSync(join(dir, 'layout.c'), source);
    execFileSync('cc', ['-o', join(dir, 'layout'), join(dir, 'layout.c')]);
    const out = execFileSync(join(dir, 'layout'), { encoding: 'utf8' });
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

/** `layout`'s size and offsets as cc lays its struct out from `header` (equal to the layout's when they agree). */
export function cRecordLayout(header: string, layout: RecordLayout): { struct: string; size: number; offsets: Record<string, number> } {
  const c = cLayout(header, { [layout.struct]: Object.keys(layout.offsets) });
  const offsets = Object.fromEntries(Object.keys(layout.offsets).map((m) => [m, c[`${layout.struct}.${m}`]!]));
  return { struct: layout.struct, size: c[`${layout.struct}.sizeof`]!, offsets };
}
