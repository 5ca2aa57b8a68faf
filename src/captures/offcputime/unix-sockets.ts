// A process's unix sockets with each one's peer and queues, from `ss -xn`
// (sock_diag: /proc/net/unix names no peers), run in the process's network
// namespace (unix sockets belong to one). Without ss or nsenter: none.
import { execFileSync } from 'node:child_process';

export interface UnixSocket {
  inode: string;
  /** Its name ("/run/app.sock", "@abstract"), or "*" when unnamed. */
  path: string;
  peerInode: string;
  /** Bytes queued on it and not yet read. */
  receiveQueue: number;
  sendQueue: number;
}

/** "u_str ESTAB 233152 0 /run/app.sock 28038394 * 28038393": by inode. */
export function parseUnixSockets(text: string): Map<string, UnixSocket> {
  const sockets = new Map<string, UnixSocket>();
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t.length < 8 || !t[0]!.startsWith('u_')) continue;
    const inode = t[t.length - 3]!;
    sockets.set(inode, {
      inode,
      path: t.slice(4, t.length - 3).join(' '),
      peerInode: t[t.length - 1]!,
      receiveQueue: Number(t[2]),
      sendQueue: Number(t[3]),
    });
  }
  return sockets;
}

export function unixSockets(pid: number): Map<string, UnixSocket> {
  try {
    return parseUnixSockets(
      execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ss', '-xn'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }),
    );
  } catch {
    return new Map(); // gone, or no ss here
  }
}
