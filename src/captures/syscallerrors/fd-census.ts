// What a process out of descriptors (EMFILE) holds: how many are open against
// its limit, and of what kind, with TCP sockets by state. A leak shows as one
// kind in bulk: sockets in CLOSE_WAIT (peers hung up, it never closed them),
// one file opened again and again, pipes of children never reaped.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { addTo, topEntries } from '../../analysis/common.js';
import { procTcpSockets } from '../proc-net-tcp.js';

export interface FdCensus {
  open: number;
  /** The soft limit (RLIMIT_NOFILE), when /proc/PID/limits could be read. */
  limit?: number;
  /** Descriptors by kind ("TCP socket", "file", "pipe", "eventpoll", ...), most first. */
  kinds: { kind: string; count: number }[];
  /** The TCP sockets by state ("CLOSE_WAIT": 57), most first. */
  tcpStates: { state: string; count: number }[];
  /** The files held most often (a path open many times is a leak's signature). */
  files: { path: string; count: number }[];
  /** Only this many descriptors were looked at (a process with very many). */
  sampled?: number;
}

/** readlink is ~5 µs: a process with a million descriptors is looked at in part. */
const MAX_LINKS = 20_000;
const TOP = 3;

export function fdCensus(pid: number): FdCensus | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined; // gone, or not ours to read
  }
  const tcp = new Map(procTcpSockets(pid).map((s) => [s.inode, s.state]));
  const kinds = new Map<string, number>();
  const states = new Map<string, number>();
  const files = new Map<string, number>();
  const looked = fds.slice(0, MAX_LINKS);
  for (const fd of looked) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const socket = /^socket:\[(\d+)\]$/.exec(link);
    const state = socket ? tcp.get(socket[1]!) : undefined;
    const kind = kindOf(link, state);
    addTo(kinds, kind, 1);
    if (state) addTo(states, state, 1);
    if (kind === 'file') addTo(files, link, 1);
  }
  const limit = softLimit(pid);
  return {
    open: fds.length,
    ...(limit !== undefined ? { limit } : {}),
    kinds: topEntries(kinds).map(([kind, count]) => ({ kind, count })),
    tcpStates: topEntries(states).map(([state, count]) => ({ state, count })),
    files: topEntries(files, TOP)
      .filter(([, count]) => count > 1)
      .map(([path, count]) => ({ path, count })),
    ...(looked.length < fds.length ? { sampled: looked.length } : {}),
  };
}

/** "holding 64 of its 64 descriptors: 59 TCP sockets (57 in CLOSE_WAIT, closed by the peer and never by it), 3 files". */
export function censusText(c: FdCensus): string {
  const held = c.limit !== undefined ? `${c.open} of its ${c.limit} descriptors` : `${c.open} descriptors`;
  const closeWait = c.tcpStates.find((s) => s.state === 'CLOSE_WAIT')?.count ?? 0;
  const kinds = c.kinds.slice(0, TOP).map(({ kind, count }) => {
    const name = `${count} ${kind}${count === 1 ? '' : 's'}`;
    if (kind === 'TCP socket' && closeWait) return `${name} (${closeWait} in CLOSE_WAIT, closed by the peer and never by it)`;
    if (kind === 'file' && c.files[0]) return `${name} (${c.files[0].path} ${c.files[0].count} times)`;
    return name;
  });
  return `holding ${held}${kinds.length ? `: ${kinds.join(', ')}` : ''}`;
}

function kindOf(link: string, tcpState: string | undefined): string {
  if (link.startsWith('/')) return 'file';
  if (link.startsWith('socket:')) return tcpState ? 'TCP socket' : 'other socket';
  if (link.startsWith('pipe:')) return 'pipe';
  return /^anon_inode:\[?([\w-]+)/.exec(link)?.[1] ?? 'other'; // anon_inode:[eventpoll], anon_inode:[eventfd]
}

function softLimit(pid: number): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    const n = Number(line?.[1]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
