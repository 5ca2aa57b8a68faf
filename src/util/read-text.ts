// A small text file (/proc, /sys, cgroup files), or undefined when it cannot
// be read (gone, no such controller, no permission): callers say what that means.
import { readFileSync } from 'node:fs';

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
