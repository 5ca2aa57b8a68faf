// A small text file (/proc, /sys, cgroup files), or undefined when it cannot
// be read (gone, no such controller, no permission): callers say what that means.
// A directory's entries the same way.
import { readdirSync, readFileSync } from 'node:fs';

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A directory's entries, or none when it cannot be read (gone, never made). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
