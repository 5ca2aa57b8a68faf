// The fault programs of faults.c (and crasher.c), compiled once into
// build/test-bin, in a folder named by the source's hash: every test process (and run) shares it,
// and nothing is left in /tmp (a temporary directory removed at 'exit' was
// not: vitest ends its workers without it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';

const built = new Map<string, string>();

/** Path of the compiled `faults` program; its comm is "faults". */
export const faultsBinary = (): string => testBinary('faults', ['-O1']);

/** test/helpers/NAME.c compiled with `flags` into build/test-bin/<hash of source and flags>/NAME (its comm is NAME). */
export function testBinary(name: string, flags: string[]): string {
  const cached = built.get(name);
  if (cached) return cached;
  const source = join(projectRoot, `test/helpers/${name}.c`);
  const hash = createHash('sha256').update(readFileSync(source)).update(flags.join(' ')).digest('hex').slice(0, 12);
  const dir = join(projectRoot, 'build/test-bin', hash);
  const out = join(dir, name);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    // Compiled beside it, then renamed: test processes starting together each see a whole file or none.
    const partial = `${out}.${process.pid}.tmp`;
    execFileSync('cc', [...flags, '-o', partial, source]);
    renameSync(partial, out);
  }
  built.set(name, out);
  return out;
}
