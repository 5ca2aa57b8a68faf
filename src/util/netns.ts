// Which network namespace a process is in: sockets, ports and unix socket
// names belong to one.
import { readlinkSync } from 'node:fs';

/** The network namespace of a process (its inode number), or undefined when it is gone. */
export function netnsOf(pid: number): number | undefined {
  try {
    const inode = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1];
    return inode ? Number(inode) : undefined;
  } catch {
    return undefined;
  }
}
