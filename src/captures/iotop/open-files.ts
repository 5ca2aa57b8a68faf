// The disks a process has regular files open on, from /proc/PID/fd: what says
// whether its bytes went to the busy disk or to another one (/proc/PID/io
// does not say which). A file on a partition counts for its disk; files on
// filesystems with no block device (tmpfs, overlay's upper layer on one has
// its own) are left out.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Descriptors read per process, at most. */
const MAX_FDS = 4096;

const diskOfDevice = new Map<string, string | undefined>();

/** "254:1" → "vda" (its disk), or undefined when no block device has that number. */
function diskOf(device: string): string | undefined {
  if (diskOfDevice.has(device)) return diskOfDevice.get(device);
  let disk: string | undefined;
  try {
    const path = realpathSync(`/sys/dev/block/${device}`);
    disk = basename(existsSync(`${path}/partition`) ? dirname(path) : path);
  } catch {
    disk = undefined; // no block device: tmpfs, proc, a network filesystem
  }
  diskOfDevice.set(device, disk);
  return disk;
}

/** Node's st_dev, as the kernel encodes it for user space, as "major:minor". */
const deviceText = (dev: number) => `${(dev >> 8) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;

export function disksOfOpenFiles(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`).slice(0, MAX_FDS);
  } catch {
    return []; // gone, or not ours to read
  }
  const disks = new Set<string>();
  for (const fd of fds) {
    try {
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      if (!st.isFile()) continue;
      const disk = diskOf(deviceText(st.dev));
      if (disk) disks.add(disk);
    } catch {
      // closed meanwhile
    }
  }
  return [...disks].sort();
}
