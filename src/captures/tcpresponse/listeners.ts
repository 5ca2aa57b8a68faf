// Listening TCP ports per network namespace, for the kernel side to tell a
// connection a listener accepted (a server's) from one this host opened (a
// client's) by its local port; and the local process behind a peer, when a
// client's peer is a server on this host.
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { procTcpSockets } from '../proc-net-tcp.js';
import { socketOwners } from '../socket-owners.js';
import { netnsOf } from '../../util/netns.js';
import { isLoopback, portOf } from '../../analysis/common.js';

export interface Listener {
  /** The network namespace's inode number. */
  netns: number;
  port: number;
  /** "0.0.0.0:5432", "[::]:5432", "127.0.0.1:6379". */
  local: string;
  inode: string;
}

/** Every listening socket of every network namespace a process is in: one /proc/PID/net/tcp read per namespace. */
export function readListeners(): Listener[] {
  const pidIn = new Map<number, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const netns = netnsOf(Number(pid));
    if (netns !== undefined && !pidIn.has(netns)) pidIn.set(netns, Number(pid));
  }
  const listeners: Listener[] = [];
  for (const [netns, pid] of pidIn) {
    for (const s of procTcpSockets(pid)) {
      if (s.state === 'LISTEN') listeners.push({ netns, port: portOf(s.local) ?? 0, local: s.local, inode: s.inode });
    }
  }
  return listeners;
}

/** The address of "ip:port" or "[v6]:port", an IPv4-mapped one as IPv4. */
const hostOf = (endpoint: string) =>
  endpoint
    .slice(0, endpoint.lastIndexOf(':'))
    .replace(/^\[|\]$/g, '')
    .replace(/^::ffff:(?=\d+\.)/, '');
const WILDCARDS = new Set(['0.0.0.0', '::']);

/** This host's own addresses (its namespace's interfaces), plus loopback. */
function localAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) addresses.add(a.address);
  return addresses;
}

export interface LocalServer {
  pid: number;
  listener: string;
  /** Other processes holding connections the listener accepted: a server that forks one per connection (postgres's backends, sshd's). */
  workers?: number[];
}

/** Workers named per server, at most. */
const MAX_WORKERS = 64;

/**
 * The processes serving each peer ("ip:port" → pid) that is a listener on this
 * host, seen from its client's network namespace: loopback, or one of the
 * host's addresses from the host's namespace. One walk of every process's
 * descriptors for all of them together.
 */
export function localServers(clients: { pid: number; peer: string }[], listeners: Listener[]): Map<string, LocalServer> {
  const own = localAddresses();
  const hostNetns = netnsOf(process.pid);
  const wanted = new Map<string, Listener>(); // peer → its listener
  const accepted = new Map<string, string[]>(); // peer → the inodes of the connections accepted on it
  const socketsIn = new Map<number, ReturnType<typeof procTcpSockets>>(); // netns → its TCP sockets, read once
  for (const c of clients) {
    const address = hostOf(c.peer);
    const netns = netnsOf(c.pid);
    if (netns === undefined || wanted.has(c.peer)) continue;
    if (!isLoopback(address) && !(netns === hostNetns && own.has(address))) continue;
    const port = portOf(c.peer) ?? 0;
    const listener = listeners.find((l) => l.netns === netns && l.port === port && (WILDCARDS.has(hostOf(l.local)) || hostOf(l.local) === address));
    if (!listener) continue;
    wanted.set(c.peer, listener);
    if (!socketsIn.has(netns)) socketsIn.set(netns, procTcpSockets(c.pid));
    const served = socketsIn.get(netns)!.filter((s) => s.state === 'ESTABLISHED' && s.local === c.peer);
    accepted.set(
      c.peer,
      served.map((s) => s.inode),
    );
  }
  // One walk for the listeners' owners and their connections'.
  const owners = socketOwners(new Set([...wanted.values()].map((l) => l.inode).concat([...accepted.values()].flat())));
  const byInode = new Map<string, number>();
  for (const [pid, inodes] of owners) for (const inode of inodes) if (!byInode.has(inode)) byInode.set(inode, pid);
  const servers = new Map<string, LocalServer>();
  for (const [peer, listener] of wanted) {
    const pid = byInode.get(listener.inode);
    if (pid === undefined) continue;
    const workers = [...new Set((accepted.get(peer) ?? []).flatMap((inode) => byInode.get(inode) ?? []))].filter((w) => w !== pid).slice(0, MAX_WORKERS);
    servers.set(peer, { pid, listener: listener.local, ...(workers.length ? { workers } : {}) });
  }
  return servers;
}

/** A unix socket of /proc/PID/net/unix: its inode, name and whether it listens. */
interface UnixSocket {
  inode: string;
  path: string;
  listening: boolean;
}

/** __SO_ACCEPTCON in the Flags column: a listening socket. */
const SO_ACCEPTCON = 0x10000;

/** The unix sockets of pid's network namespace (an abstract name as "@name"). */
function unixSockets(pid: number): UnixSocket[] {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/net/unix`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(1)
    .flatMap((line): UnixSocket[] => {
      // Num RefCount Protocol Flags Type St Inode Path
      const f = line.trim().split(/\s+/);
      return f.length >= 7 ? [{ inode: f[6]!, path: f.slice(7).join(' '), listening: (parseInt(f[3]!, 16) & SO_ACCEPTCON) !== 0 }] : [];
    });
}

/** Unix sockets still open among `inodes`, looked for in the namespaces of `pids` (their owners). */
export function liveUnixInodes(pids: number[]): Set<string> {
  const live = new Set<string>();
  const seen = new Set<number>();
  for (const pid of pids) {
    const netns = netnsOf(pid);
    if (netns === undefined || seen.has(netns)) continue;
    seen.add(netns);
    for (const s of unixSockets(pid)) live.add(s.inode);
  }
  return live;
}

/** The processes listening on unix socket names (clients' peers, "unix:/path" → pid), from their clients' namespaces. */
export function unixServers(clients: { pid: number; peer: string }[]): Map<string, LocalServer> {
  const wanted = new Map<string, string>(); // peer → the listener's inode
  for (const c of clients) {
    if (!c.peer.startsWith('unix:') || wanted.has(c.peer)) continue;
    const path = c.peer.slice('unix:'.length);
    const listener = unixSockets(c.pid).find((s) => s.listening && s.path === path);
    if (listener) wanted.set(c.peer, listener.inode);
  }
  const byInode = new Map<string, number>();
  for (const [pid, inodes] of socketOwners(new Set(wanted.values()))) for (const inode of inodes) if (!byInode.has(inode)) byInode.set(inode, pid);
  const servers = new Map<string, LocalServer>();
  for (const [peer, inode] of wanted) {
    const pid = byInode.get(inode);
    if (pid !== undefined) servers.set(peer, { pid, listener: peer.slice('unix:'.length) });
  }
  return servers;
}
