// Where cgroup v2 is mounted: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified
// on a hybrid one, nowhere on a v1-only host; and where v1's memory controller is.
import { readFileSync } from 'node:fs';

/** The mount point of the first /proc/mounts line `matches` (its fields: device, mount point, type, options), or undefined. */
function mountPoint(matches: (fields: string[]) => boolean): string | undefined {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find(matches)?.[1];
  } catch {
    return undefined;
  }
}

/** The cgroup2 mount point, or undefined where cgroup v2 is not mounted. */
export const cgroup2Mount = (): string | undefined => mountPoint((f) => f[2] === 'cgroup2');

/** The cgroup v1 memory controller's mount point (a v1 or hybrid host), or undefined. */
export const memoryCgroupMount = (): string | undefined => mountPoint((f) => f[2] === 'cgroup' && f[3]?.split(',').includes('memory') === true);
