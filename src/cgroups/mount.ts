// Where cgroup v2 is mounted: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified
// on a hybrid one, nowhere on a v1-only host.
import { readFileSync } from 'node:fs';

/** The cgroup2 mount point, or undefined where cgroup v2 is not mounted. */
export function cgroup2Mount(): string | undefined {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[2] === 'cgroup2')?.[1];
  } catch {
    return undefined;
  }
}
