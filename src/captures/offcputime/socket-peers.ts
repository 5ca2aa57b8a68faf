// Who a process blocked sending on a socket waits for: the connection's peer,
// which does not take the data as fast as it is sent. TCP: on this host the
// peer's socket is found in the same table (its ends swapped), with its owner
// and the bytes waiting unread in its receive queue; elsewhere, the address
// and what is sent and not acknowledged. Unix: the peer socket `ss` names, and
// its owner; a blocking connect waiting on a full accept queue: the listener,
// its backlog and owner, the socket's name read from the call's own argument.
// Read after the window.
import { ProcessMemory } from '../../symbolize/process-memory.js';
import { procTcpSockets } from '../proc-net-tcp.js';
import { socketOwners } from '../target-processes.js';
import { unixListener, unixSockets } from '../unix-sockets.js';
import { blockedCalls, blockedFds, fdLinks, processNow, type ProcessNow } from './process-now.js';

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
  /** A connect waiting to be accepted: the listener's accept queue (connections waiting, its backlog), when its listener was found. */
  accept?: { queued?: number; backlog?: number };
}

/** A socket with this much unacknowledged is a candidate when no thread is blocked on one at the end. */
const FULL_SEND_QUEUE = 64 * 1024;
const MAX_SOCKETS = 3;

/**
 * Where a unix socket's sender sleeps: a stream's buffer (sock_alloc_send_pskb), a datagram receiver's full
 * queue (unix_wait_for_peer); not a stream connect, which sleeps there too until its listener's accept queue has room.
 */
const UNIX_SEND = /^(?![\s\S]*unix_stream_connect)[\s\S]*(unix_stream_sendmsg|unix_dgram_sendmsg|unix_wait_for_peer|sock_alloc_send_pskb)/;
const UNIX_CONNECT = /unix_stream_connect/;

/** The connections pid was blocked sending on (or connecting to): TCP and unix, those it is blocked on now first, connects before sends. */
export function blockedSends(pid: number): BlockedSend[] {
  return [...tcpSends(pid), ...unixConnects(pid), ...unixSends(pid)].sort(blockedFirst).slice(0, MAX_SOCKETS);
}

/** Those blocked on now first, connects before sends, then the fullest send queues. */
const blockedFirst = (a: BlockedSend, b: BlockedSend) =>
  Number(b.blockedNow) - Number(a.blockedNow) || Number(!!b.accept) - Number(!!a.accept) || b.sendQueue - a.sendQueue;
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

/** The unix sockets pid's threads wait to connect to now, each with its listener (owner, accept queue). */
function unixConnects(pid: number): BlockedSend[] {
  const byPath = new Map<string, number>(); // socket name → the fd of one thread waiting on it
  for (const syscall of blockedCalls(pid, UNIX_CONNECT)) {
    const call = connectCall(pid, syscall);
    if (call && !byPath.has(call.path)) byPath.set(call.path, call.fd);
  }
  return [...byPath].slice(0, MAX_SOCKETS).map(([path, fd]) => {
    const listener = unixListener(pid, path);
    const now = listener?.owner && processNow(listener.owner.pid);
    return {
      fd,
      local: 'unix:(unnamed)',
      remote: `unix:${path}`,
      sendQueue: 0,
      blockedNow: true,
      accept: listener ? { queued: listener.queued, backlog: listener.backlog } : {},
      ...(now && listener ? { peer: { ...now, receiveQueue: listener.queued } } : {}),
    };
  });
}

const AF_UNIX = 1;
const SUN_PATH_LEN = 108;

/**
 * A connect's fd and the unix socket name it was given, from /proc/PID/task/TID/syscall
 * ("42 0x3 0x7f1cc7120990 0x14 ...": number, then arguments) and the address read from
 * the process's memory; undefined when it is not a unix address or is gone.
 */
export function connectCall(pid: number, syscall: string): { fd: number; path: string } | undefined {
  const [, fdArg, addressArg, lengthArg] = syscall.trim().split(' ');
  const length = Math.min(Number(lengthArg), 2 + SUN_PATH_LEN);
  if (!fdArg?.startsWith('0x') || !addressArg?.startsWith('0x') || !(length > 2)) return undefined;
  const memory = new ProcessMemory(pid);
  const address = memory.read(BigInt(addressArg), length); // undefined: gone, or the memory not ours to read
  memory.close();
  if (!address) return undefined;
  if (address.readUInt16LE(0) !== AF_UNIX) return undefined;
  const name = address.subarray(2);
  // An abstract name starts with a NUL and is counted by the length; a path ends at its NUL.
  const path = name[0] === 0 ? `@${name.subarray(1).toString('latin1')}` : name.subarray(0, name.indexOf(0) < 0 ? name.length : name.indexOf(0)).toString();
  return { fd: Number(fdArg), path };
}
