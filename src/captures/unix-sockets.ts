// A process's unix sockets with each one's peer and queues, from `ss -xn`
// (sock_diag: /proc/net/unix names no peers and no queues), run in the
// process's network namespace (unix sockets belong to one). Without ss or
// nsenter: none. A listener's queues are its accept queue: the connections
// waiting (Recv-Q) and its backlog (Send-Q).
import { execFileSync } from 'node:child_process';
import { socketOwners } from './target-processes.js';

export interface UnixSocket {
  inode: string;
  /** Its name ("/run/app.sock", "@abstract"), or "*" when unnamed. */
  path: string;
  peerInode: string;
  /** Bytes queued on it and not yet read; a listener: connections waiting to be accepted. */
  receiveQueue: number;
  /** A listener: its backlog (the most connections that may wait). */
  sendQueue: number;
  listening: boolean;
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
      listening: t[1] === 'LISTEN',
    });
  }
  return sockets;
}

/** pid's network namespace's unix sockets: connected ones, or (`listening`) the listeners. */
export function unixSockets(pid: number, { listening = false } = {}): Map<string, UnixSocket> {
  try {
    return parseUnixSockets(
      execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ss', listening ? '-xln' : '-xn'], {
        encoding: 'utf8',
        timeout: 2000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
  } catch {
    return new Map(); // gone, or no ss here
  }
}

export interface UnixListener {
  path: string;
  /** Connections waiting to be accepted when read, and the most that may (listen()'s backlog, capped by net.core.somaxconn). */
  queued: number;
  backlog: number;
  /** The process holding it (the first found: a pre-forked server's workers share it). */
  owner?: { pid: number; comm: string };
}

/** The listener bound to unix socket `path` in pid's network namespace, or undefined when none listens there. */
export function unixListener(pid: number, path: string): UnixListener | undefined {
  const socket = [...unixSockets(pid, { listening: true }).values()].find((s) => s.listening && s.path === path);
  if (!socket) return undefined;
  const owner = socketOwners(new Set([BigInt(socket.inode)])).get(BigInt(socket.inode));
  return { path, queued: socket.receiveQueue, backlog: socket.sendQueue, ...(owner ? { owner: { pid: owner.pid, comm: owner.comm } } : {}) };
}

/** "php-fpm (pid 812) listening with a backlog of 4, 5 connections waiting": a listener as findings say it. */
export function listenerText(l: UnixListener): string {
  const who = l.owner ? `${l.owner.comm} (pid ${l.owner.pid})` : 'a process not found';
  return `${who} listening with a backlog of ${l.backlog}, ${l.queued} ${l.queued === 1 ? 'connection' : 'connections'} waiting`;
}
