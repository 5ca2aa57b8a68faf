// Who a process blocked sending on a socket waits for: the connection's peer,
// which does not take the data as fast as it is sent. TCP: on this host the
// peer's socket is found in the same table (its ends swapped), with its owner
// and the bytes waiting unread in its receive queue; elsewhere, the address
// and what is sent and not acknowledged. Unix: the peer socket `ss` names, and
// its owner. Read after the window.
import { procTcpSockets } from '../proc-net-tcp.js';
import { socketOwners } from '../target-processes.js';
import { blockedFds, fdLinks, processNow, type ProcessNow } from './process-now.js';
import { unixSockets } from './unix-sockets.js';

export interface BlockedSend {
  fd: number;
  local: string;
  remote: string;
  /** Bytes it wrote that the peer has not acknowledged yet (queued and in flight). */
  sendQueue: number;
  /** A thread was blocked sending on it when read. */
  blockedNow: boolean;
  /** The peer, when it is a socket on this host (in the same network namespace): its owner and the bytes it has not read. */
  peer?: ProcessNow & { receiveQueue: number };
}

/** A socket with this much unacknowledged is a candidate when no thread is blocked on one at the end. */
const FULL_SEND_QUEUE = 64 * 1024;
const MAX_SOCKETS = 3;

/** Where a unix socket's sender sleeps: a stream's buffer (sock_alloc_send_pskb), a datagram receiver's full queue (unix_wait_for_peer). */
const UNIX_SEND = /unix_stream_sendmsg|unix_dgram_sendmsg|unix_wait_for_peer|sock_alloc_send_pskb/;

/** The connections pid was blocked sending on: TCP and unix, those it is blocked on now first. */
export function blockedSends(pid: number): BlockedSend[] {
  return [...tcpSends(pid), ...unixSends(pid)].sort(blockedFirst).slice(0, MAX_SOCKETS);
}

/** Those blocked on now first, then the fullest send queues. */
const blockedFirst = (a: BlockedSend, b: BlockedSend) => Number(b.blockedNow) - Number(a.blockedNow) || b.sendQueue - a.sendQueue;
const socketInode = (link: string) => /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? '';

/** The TCP connections pid is blocked sending on now, else its fullest send queues. */
function tcpSends(pid: number): BlockedSend[] {
  const sockets = procTcpSockets(pid);
  const byInode = new Map(sockets.map((s) => [s.inode, s]));
  const blocked = blockedFds(pid, /sk_stream_wait_memory/);
  const mine: BlockedSend[] = [];
  for (const { fd, link } of fdLinks(pid)) {
    const socket = byInode.get(socketInode(link));
    if (!socket || socket.state !== 'ESTABLISHED') continue;
    const blockedNow = blocked.has(fd);
    if (!blockedNow && socket.sendQueue < FULL_SEND_QUEUE) continue;
    mine.push({ fd, local: socket.local, remote: socket.remote, sendQueue: socket.sendQueue, blockedNow });
  }
  const chosen = mine.sort(blockedFirst).slice(0, MAX_SOCKETS);
  // The peers on this host: the sockets whose ends are these swapped, and their owners (one scan of /proc for all).
  const peerSockets = new Map(chosen.map((c) => [c, sockets.find((s) => s.local === c.remote && s.remote === c.local)]));
  const owners = socketOwners(new Set([...peerSockets.values()].flatMap((s) => (s ? [BigInt(s.inode)] : []))));
  for (const [send, socket] of peerSockets) {
    const owner = socket && owners.get(BigInt(socket.inode));
    const now = owner && processNow(owner.pid);
    if (now) send.peer = { ...now, receiveQueue: socket.receiveQueue };
  }
  return chosen;
}

/** The unix sockets pid is blocked sending on now (a stream or datagram peer that does not read), with the peer's owner. */
function unixSends(pid: number): BlockedSend[] {
  const blocked = blockedFds(pid, UNIX_SEND);
  if (!blocked.size) return [];
  const sockets = unixSockets(pid);
  const mine = fdLinks(pid).flatMap(({ fd, link }) => {
    const socket = blocked.has(fd) ? sockets.get(socketInode(link)) : undefined;
    return socket ? [{ fd, socket, peer: sockets.get(socket.peerInode) }] : [];
  });
  const owners = socketOwners(new Set(mine.flatMap((m) => (m.peer ? [BigInt(m.peer.inode)] : []))));
  return mine.map(({ fd, socket, peer }) => {
    const owner = peer && owners.get(BigInt(peer.inode));
    const now = owner && processNow(owner.pid);
    const name = (path: string | undefined) => `unix:${path && path !== '*' ? path : '(unnamed)'}`;
    return {
      fd,
      local: name(socket.path),
      remote: name(peer?.path),
      sendQueue: socket.sendQueue,
      blockedNow: true,
      ...(now && peer ? { peer: { ...now, receiveQueue: peer.receiveQueue } } : {}),
    };
  });
}
