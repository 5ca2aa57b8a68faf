// A program found the way a shell finds it: the first directory of PATH that holds it.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The path of `program` in the first PATH directory holding it, or undefined. */
export function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, program))) return join(dir, program);
  return undefined;
}
