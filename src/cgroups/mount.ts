// Where cgroup v2 is mounted: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified
// on a hybrid one, nowhere on a v1-only host; and where v1's memory controller is.
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

/** The cgroup v1 memory controller's mount point (a v1 or hybrid host), or undefined. */
export function memoryCgroupMount(): string | undefined {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[2] === 'cgroup' && f[3]?.split(',').includes('memory'))?.[1];
  } catch {
    return undefined;
  }
}
