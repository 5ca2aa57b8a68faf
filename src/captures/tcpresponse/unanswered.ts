// Requests unanswered since before the window. The kernel program times a
// request from its send, so one sent before the window and never answered (a
// hung server, a peer that stopped answering) it never sees: every thread
// waiting on it sleeps the whole window, and nothing moves on its connection.
// The kernel's tcp_info has each connection's time since it last sent and
// last received data (`ss -ti`: lastsnd, lastrcv); a connection whose last
// data went one way, longer ago than the window, waits for the other side:
// a client for its answer, a server to give one. Read at the window's end,
// once per network namespace.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { portOf } from '../../analysis/common.js';
import { netnsOf } from '../../util/netns.js';

const run = promisify(execFile);

export interface TcpInfo {
  local: string;
  remote: string;
  inode: string;
  /** Bytes written and not yet acknowledged (a peer that does not even ACK: gone, or a path that drops). */
  sendQueue: number;
  /** ms since the connection last sent data, and last received data (the handshake when none came). */
  lastSendMs: number;
  lastRecvMs: number;
  bytesSent: number;
  bytesReceived: number;
  dataSegsOut: number;
  dataSegsIn: number;
}

export interface Unanswered {
  netns: number;
  role: 'client' | 'server';
  local: string;
  remote: string;
  inode: string;
  /** How long it has waited (ms): since its request went out (a client), or came in (a server). */
  ageMs: number;
  /** A client's request not even acknowledged yet (bytes). */
  unacked: number;
}

/** A connection that never got data back counts as waiting only after this few segments out: more is a one-way stream (logs, metrics). */
const FIRST_REQUEST_SEGMENTS = 2;
/** Network namespaces read, at most (a host of many containers: the run's end waits on this), and ss's time in each. */
const MAX_NAMESPACES = 64;
const SS_TIMEOUT_MS = 2000;

/** `ss -tinHOe state established`: one line per connection ("0 0 10.0.0.1:40000 10.0.0.5:5432 ino:123 ... lastsnd:52 lastrcv:48 ..."). */
export function parseTcpInfo(text: string): TcpInfo[] {
  return text.split('\n').flatMap((line): TcpInfo[] => {
    const [recvQ, sendQ, local, remote] = line.trim().split(/\s+/);
    if (!remote || !/^\d+$/.test(recvQ ?? '') || !line.includes('lastsnd:')) return [];
    const field = (name: string) => Number(new RegExp(`(?:^|\\s)${name}:(\\d+)`).exec(line)?.[1] ?? 0);
    return [
      {
        local: endpoint(local!),
        remote: endpoint(remote),
        inode: String(field('ino')),
        sendQueue: Number(sendQ),
        lastSendMs: field('lastsnd'),
        lastRecvMs: field('lastrcv'),
        bytesSent: field('bytes_sent'),
        bytesReceived: field('bytes_received'),
        dataSegsOut: field('data_segs_out'),
        dataSegsIn: field('data_segs_in'),
      },
    ];
  });
}

/** ss's "[::ffff:127.0.0.1]:80" and "[fe80::1%eth0]:80" as the kernel records print them: "127.0.0.1:80", "[fe80::1]:80". */
function endpoint(text: string): string {
  return text.replace(/^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]/, '$1').replace(/%[^\]:]+(?=\]|:\d+$)/, '');
}

/**
 * How long a connection has waited for the other side, or undefined when it does not: its last data went
 * out (a client) or came in (a server) and nothing since. Sent and received in the same millisecond says
 * nothing of which was last, but a connection that never got a byte back after a first request still waits.
 */
export function waitedMs(c: TcpInfo, role: 'client' | 'server'): number | undefined {
  const [mine, theirs, mineMs, theirsMs, mySegments] =
    role === 'client'
      ? [c.bytesSent, c.bytesReceived, c.lastSendMs, c.lastRecvMs, c.dataSegsOut]
      : [c.bytesReceived, c.bytesSent, c.lastRecvMs, c.lastSendMs, c.dataSegsIn];
  if (!mine) return undefined;
  // Nothing ever went the other way: a first request still unanswered, or a one-way stream (its time since then says nothing).
  if (!theirs) return mySegments <= FIRST_REQUEST_SEGMENTS ? mineMs : undefined;
  return mineMs < theirsMs ? mineMs : undefined;
}

/**
 * Connections waiting `minAgeMs` or longer, in the network namespaces of `pids` (one ss each, at most
 * MAX_NAMESPACES). A connection is a server's when its local port listens in its namespace (`listening`).
 */
export async function unansweredConnections(pids: number[], listening: (netns: number, port: number) => boolean, minAgeMs: number): Promise<Unanswered[]> {
  const namespaces = new Map<number, number>(); // netns → a pid in it
  for (const pid of pids) {
    const netns = netnsOf(pid);
    if (netns !== undefined && !namespaces.has(netns)) namespaces.set(netns, pid);
    if (namespaces.size >= MAX_NAMESPACES) break;
  }
  const own = netnsOf(process.pid);
  const found = await Promise.all(
    [...namespaces].map(async ([netns, pid]) => {
      const args = ['-tinHOe', 'state', 'established'];
      let text = '';
      try {
        const { stdout } =
          netns === own
            ? await run('ss', args, { timeout: SS_TIMEOUT_MS, maxBuffer: 256 << 20 })
            : await run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ss', ...args], { timeout: SS_TIMEOUT_MS, maxBuffer: 256 << 20 });
        text = stdout;
      } catch {
        return []; // gone, or no ss here
      }
      return parseTcpInfo(text).flatMap((c): Unanswered[] => {
        const role = listening(netns, portOf(c.local) ?? 0) ? 'server' : 'client';
        const ageMs = waitedMs(c, role);
        if (ageMs === undefined || ageMs < minAgeMs) return [];
        return [{ netns, role, local: c.local, remote: c.remote, inode: c.inode, ageMs, unacked: role === 'client' ? c.sendQueue : 0 }];
      });
    }),
  );
  return found.flat();
}
