// Where cgroup v2 is mounted: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified
// on a hybrid one, nowhere on a v1-only host; and where v1's memory controller is.
import { readFileSync } from 'node:fs';

/** How long one read of /proc/mounts answers: callers ask per process seen (a capture's drain), mounts change rarely. */
const MOUNTS_REUSE_MS = 1000;
let mounts: { fields: string[][]; at: number } | undefined;

/** /proc/mounts as lines of fields (device, mount point, type, options), read at most once a second. */
export function mountTable(now = performance.now()): string[][] {
  if (!mounts || now - mounts.at >= MOUNTS_REUSE_MS) {
    let text = '';
    try {
      text = readFileSync('/proc/mounts', 'utf8');
    } catch {
      // no /proc: nothing is mounted as far as we can tell
    }
    mounts = { fields: text.split('\n').map((l) => l.split(' ')), at: now };
  }
  return mounts.fields;
}

/** The mount point of the first /proc/mounts line `matches`, or undefined. */
const mountPoint = (matches: (fields: string[]) => boolean): string | undefined => mountTable().find(matches)?.[1];

/** The cgroup2 mount point, or undefined where cgroup v2 is not mounted. */
export const cgroup2Mount = (): string | undefined => mountPoint((f) => f[2] === 'cgroup2');

/** The cgroup v1 memory controller's mount point (a v1 or hybrid host), or undefined. */
export const memoryCgroupMount = (): string | undefined => mountPoint((f) => f[2] === 'cgroup' && f[3]?.split(',').includes('memory') === true);
