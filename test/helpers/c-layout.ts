// Member offsets of C structs as the compiler lays them out, so a TS decoder
// can be checked against the header that crosses the kernel boundary.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
    return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k!, Number(v)]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
