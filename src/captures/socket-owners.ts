// Which processes hold these sockets, by inode (from /proc/PID/net/tcp): a
// walk of every process's descriptors, so asked once per question.
import { readdirSync, readlinkSync } from 'node:fs';

/** Each process holding one of `inodes` (by tgid), with the inodes it holds. */
export function socketOwners(inodes: ReadonlySet<string>): Map<number, string[]> {
  const owners = new Map<number, string[]>();
  if (!inodes.size) return owners;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited, or not ours to read
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = link.startsWith('socket:[') ? link.slice(8, -1) : '';
      if (inodes.has(inode)) owners.set(Number(pid), [...(owners.get(Number(pid)) ?? []), inode]);
    }
  }
  return owners;
}
