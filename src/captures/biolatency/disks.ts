// Disk names for the kernel's dev_t (major << 20 | minor) the block
// tracepoints report: /sys/block/<name>/dev ("254:0"), else /proc/partitions.
import { readdirSync, readFileSync } from 'node:fs';

export const kernelDevId = (major: number, minor: number): number => ((major << 20) | minor) >>> 0;
export const devString = (dev: number): string => `${dev >>> 20}:${dev & 0xfffff}`;

/** dev_t (kernel encoding) → disk name, for every block device the host lists now. */
export function diskNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync('/proc/partitions', 'utf8').split('\n').slice(2)) {
      const [major, minor, , name] = line.trim().split(/\s+/);
      if (name) names.set(kernelDevId(Number(major), Number(minor)), name);
    }
  } catch {
    // no procfs: /sys below, or "major:minor" labels
  }
  try {
    for (const name of readdirSync('/sys/block')) {
      try {
        const [major, minor] = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim().split(':').map(Number);
        names.set(kernelDevId(major!, minor!), name);
      } catch {
        // gone while we looked
      }
    }
  } catch {
    // no sysfs
  }
  return names;
}
