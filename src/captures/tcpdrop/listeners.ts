// Accept-queue overflows the packet path does not show: a SYN that finds a
// listener's accept queue full is freed as consumed, not dropped (no
// kfree_skb reason), and counted only in the namespace's TcpExt
// ListenOverflows/ListenDrops. So listeners are sampled from /proc while the
// capture runs: per network namespace, its counters (/proc/PID/net/netstat)
// and its listening sockets with their accept queue and backlog
// (/proc/PID/net/tcp{,6}: rx_queue and tx_queue of a LISTEN row). The
// namespace's overflows during the window are given to its listeners whose
// queue was seen full; shared when more than one was.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readConntrack, type ConntrackCounters } from './conntrack.js';

const MAX_PROC_SCAN = 65_536;
const LISTEN = '0A';

export interface ListenerSample {
  netns: string;
  port: number;
  inode: bigint;
  /** Connections waiting for accept() when sampled. */
  acceptQueue: number;
  /** The listener's backlog (sk_max_ack_backlog). */
  backlog: number;
}

export interface NamespaceCounters {
  /** A process in it, to read its /proc/PID/net files through. */
  pid: number;
  listenOverflows: number;
  listenDrops: number;
  /** Its connection-tracking table, where connections are tracked. */
  conntrack?: ConntrackCounters;
}

export const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** One process per network namespace (of `pids`, or of every process). */
export function namespaces(pids?: number[]): Map<string, number> {
  const found = new Map<string, number>();
  const candidates =
    pids ??
    (() => {
      try {
        return readdirSync('/proc')
          .filter((n) => /^\d+$/.test(n))
          .slice(0, MAX_PROC_SCAN)
          .map(Number);
      } catch {
        return [];
      }
    })();
  for (const pid of candidates) {
    try {
      const ns = readlinkSync(`/proc/${pid}/ns/net`);
      if (!found.has(ns)) found.set(ns, pid);
    } catch {
      // gone, or no access
    }
  }
  return found;
}

/** TcpExt ListenOverflows and ListenDrops of pid's namespace; undefined when unreadable. */
export function namespaceCounters(pid: number): NamespaceCounters | undefined {
  const lines = read(`/proc/${pid}/net/netstat`)
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) return undefined;
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? 0;
  const conntrack = readConntrack(pid);
  return { pid, listenOverflows: get('ListenOverflows'), listenDrops: get('ListenDrops'), ...(conntrack ? { conntrack } : {}) };
}

/** Listening TCP sockets of pid's namespace. */
export function listenersOf(netns: string, pid: number): ListenerSample[] {
  const found: ListenerSample[] = [];
  for (const file of ['tcp', 'tcp6']) {
    for (const line of read(`/proc/${pid}/net/${file}`).split('\n').slice(1)) {
      // sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      const [txq, rxq] = f[4]!.split(':');
      found.push({
        netns,
        port: parseInt(f[1]!.split(':')[1] ?? '0', 16),
        inode: BigInt(f[9] ?? '0'),
        acceptQueue: parseInt(rxq ?? '0', 16),
        backlog: parseInt(txq ?? '0', 16),
      });
    }
  }
  return found;
}

/** A listener's queue is full when it holds more than its backlog (sk_acceptq_is_full). */
export const queueFull = (l: ListenerSample): boolean => l.acceptQueue > l.backlog;
