// The fault programs of faults.c, compiled once into build/test-bin, in a
// folder named by the source's hash: every test process (and run) shares it,
// and nothing is left in /tmp (a temporary directory removed at 'exit' was
// not: vitest ends its workers without it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';

let binary: string | undefined;

/** Path of the compiled `faults` program; its comm is "faults". */
export function faultsBinary(): string {
  if (binary) return binary;
  const source = join(projectRoot, 'test/helpers/faults.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const dir = join(projectRoot, 'build/test-bin', hash);
  const out = join(dir, 'faults'); // its name is its comm, which the tests look for
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    // Compiled beside it, then renamed: test processes starting together each see a whole file or none.
    const partial = `${out}.${process.pid}.tmp`;
    execFileSync('cc', ['-O1', '-o', partial, source]);
    renameSync(partial, out);
  }
  return (binary = out);
}
