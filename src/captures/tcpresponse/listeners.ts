// Listening TCP ports per network namespace, for the kernel side to tell a
// connection a listener accepted (a server's) from one this host opened (a
// client's) by its local port; and the local process behind a peer, when a
// client's peer is a server on this host.
import { readdirSync, readlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { procTcpSockets } from '../proc-net-tcp.js';
import { socketOwners } from '../socket-owners.js';

export interface Listener {
  /** The network namespace's inode number. */
  netns: number;
  port: number;
  /** "0.0.0.0:5432", "[::]:5432", "127.0.0.1:6379". */
  local: string;
  inode: string;
}

/** The network namespace of a process (its inode number), or undefined when it is gone. */
export function netnsOf(pid: number): number | undefined {
  try {
    const inode = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1];
    return inode ? Number(inode) : undefined;
  } catch {
    return undefined;
  }
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
      if (s.state === 'LISTEN') listeners.push({ netns, port: portOf(s.local), local: s.local, inode: s.inode });
    }
  }
  return listeners;
}

const portOf = (endpoint: string) => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
/** The address of "ip:port" or "[v6]:port", an IPv4-mapped one as IPv4. */
const hostOf = (endpoint: string) =>
  endpoint
    .slice(0, endpoint.lastIndexOf(':'))
    .replace(/^\[|\]$/g, '')
    .replace(/^::ffff:(?=\d+\.)/, '');
const WILDCARDS = new Set(['0.0.0.0', '::']);
const isLoopback = (address: string) => address.startsWith('127.') || address === '::1';

/** This host's own addresses (its namespace's interfaces), plus loopback. */
function localAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) addresses.add(a.address);
  return addresses;
}

export interface LocalServer {
  pid: number;
  listener: string;
}

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
  for (const c of clients) {
    const address = hostOf(c.peer);
    const netns = netnsOf(c.pid);
    if (netns === undefined || wanted.has(c.peer)) continue;
    if (!isLoopback(address) && !(netns === hostNetns && own.has(address))) continue;
    const port = portOf(c.peer);
    const listener = listeners.find((l) => l.netns === netns && l.port === port && (WILDCARDS.has(hostOf(l.local)) || hostOf(l.local) === address));
    if (listener) wanted.set(c.peer, listener);
  }
  const owners = socketOwners(new Set([...wanted.values()].map((l) => l.inode)));
  const byInode = new Map<string, number>();
  for (const [pid, inodes] of owners) for (const inode of inodes) if (!byInode.has(inode)) byInode.set(inode, pid);
  const servers = new Map<string, LocalServer>();
  for (const [peer, listener] of wanted) {
    const pid = byInode.get(listener.inode);
    if (pid !== undefined) servers.set(peer, { pid, listener: listener.local });
  }
  return servers;
}
