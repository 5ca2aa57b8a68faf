// Where the project's files are, whether we run from src/ (vitest) or dist/.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { release, version } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    // A checkout has bpf/ sources; a release tarball has only build/bpf objects. Both ship runbooks/.
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'runbooks'))) return dir;
  }
  throw new Error(`cannot find the Sherlock project root above ${start}`);
}

export const projectRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

const buildDir = join(projectRoot, 'build');

/** The CO-RE object `make bpf` builds for a capture. */
export function bpfObjectPath(name: string): string {
  return join(buildDir, 'bpf', name, `${name}.bpf.o`);
}

let builtForThisKernel: boolean | undefined;

/** Did `make bpf` run on the kernel we run on now (build/kernel.id, see the Makefile)? */
function buildMatchesKernel(): boolean {
  if (builtForThisKernel === undefined) {
    try {
      const id = `${release()} ${version()} ${statSync('/sys/kernel/btf/vmlinux').size}`;
      builtForThisKernel = readFileSync(join(buildDir, 'kernel.id'), 'utf8').trim() === id;
    } catch {
      builtForThisKernel = false;
    }
  }
  return builtForThisKernel;
}

/** The object's minimal BTF (BTFGen), when it was cut from this very kernel. */
export function minimalBtfPath(name: string): string | undefined {
  const path = join(buildDir, 'bpf', name, `${name}.min.btf`);
  return buildMatchesKernel() && existsSync(path) ? path : undefined;
}
