// Where the project's files are, whether we run from src/ (vitest) or dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bpf'))) return dir;
  }
  throw new Error(`cannot find the Sherlock project root above ${start}`);
}

export const projectRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

/** The CO-RE object `make bpf` builds for a capture. */
export function bpfObjectPath(name: string): string {
  return process.env.SHERLOCK_BPF_DIR
    ? join(process.env.SHERLOCK_BPF_DIR, `${name}.bpf.o`)
    : join(projectRoot, 'build', 'bpf', name, `${name}.bpf.o`);
}
