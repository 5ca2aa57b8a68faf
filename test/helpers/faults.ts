// The fault programs of faults.c, compiled once per test process into a
// temporary directory (removed when the process exits).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';

let binary: string | undefined;

/** Path of the compiled `faults` program; its comm is "faults". */
export function faultsBinary(): string {
  if (binary) return binary;
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-faults-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'faults');
  execFileSync('cc', ['-O1', '-o', out, join(projectRoot, 'test/helpers/faults.c')]);
  return (binary = out);
}
