// mkdir -p that always ends: Node's recursive mkdir loops forever where a
// parent exists but takes no new directory (mkdir /proc/x gives ENOENT, its
// parent /proc exists, and it tries again). The error names the directory.
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Makes `dir` and its missing parents (new ones with `mode`); throws "cannot create DIR: WHY" when it cannot. */
export function makeDirectory(dir: string, mode = 0o777): void {
  const fail = (err: unknown): never => {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot create ${dir}: ${e.code === 'ENOENT' ? `${dirname(dir)} does not take new directories` : (e.code ?? e.message)}`);
  };
  try {
    mkdirSync(dir, { mode });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (statSync(dir).isDirectory()) return;
      throw new Error(`cannot create ${dir}: a file of that name is there`);
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) fail(err);
  }
  // Its parent is missing: made first, then it, once (the parent there and still ENOENT: it takes none).
  const parent = dirname(dir);
  let parentExisted = true;
  try {
    statSync(parent);
  } catch {
    parentExisted = false;
  }
  if (parentExisted) fail(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }));
  makeDirectory(parent, mode);
  try {
    mkdirSync(dir, { mode });
  } catch (err) {
    fail(err);
  }
}
