// The CPythons the Python-frame tests run: Debian 12's own (3.11) and the
// newer ones scripts/fetch-test-pythons.sh unpacks under build/pythons/
// (`make test` fetches them; a version it could not fetch says why).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';

export interface TestPython {
  version: string;
  /** What to run: the interpreter, or a wrapper that runs it through its own loader. */
  python: string;
  /** The process's name (comm). */
  comm: string;
  /** The version's headers (include/pythonX.Y and the directory above it), when present. */
  include?: string;
  /** Why this version cannot be tested here. */
  skip?: string;
}

const SYSTEM = '/usr/bin/python3';

export function testPythons(): TestPython[] {
  const system: TestPython = { version: '3.11', python: SYSTEM, comm: 'python3', ...(existsSync(SYSTEM) ? {} : { skip: `${SYSTEM} is not installed` }) };
  return [system, fetched('3.13'), fetched('3.14')];
}

export function fetched(version: string): TestPython {
  const dir = join(projectRoot, 'build', 'pythons', version);
  const python = join(dir, `python${version}`);
  const problem = join(dir, 'problem');
  const skip = existsSync(python)
    ? undefined
    : existsSync(problem)
      ? readFileSync(problem, 'utf8').trim()
      : `python${version} is not fetched (make test-pythons: scripts/fetch-test-pythons.sh)`;
  return { version, python, comm: `python${version}`, include: join(dir, 'root', 'usr', 'include'), ...(skip ? { skip } : {}) };
}
