// The structs of bpf/tcpresponse/tcpresponse.h in user space (checked against
// the object's BTF by test/architecture/record-layouts.test.ts).
import { decodeHistogram, HIST_SIZE, type Log2Histogram } from '../histogram.js';
import { addressText, endpointText } from '../net-address.js';
import { cString, recordLayout } from '../records.js';

export const CLIENT = 1;
export const SERVER = 2;
export const SENT = 1;
export const RECEIVED = 2;
export const ANSWERED = 1;
export const ABANDONED = 2;

export const keyLayout = recordLayout('tcpresponse_key', 32, { addr: 0, tgid: 16, port: 20, family: 22, role: 24 }, { addr: 16 });
export const statsLayout = recordLayout(
  'tcpresponse_stats',
  328,
  { hist: 0, max_ns: 272, cgroup_id: 280, comm: 288, held: 304, held_ns: 312, held_max_ns: 320 },
  { comm: 16 },
);
export const connLayout = recordLayout(
  'tcpresponse_conn',
  112,
  {
    last_send_ns: 0,
    last_recv_ns: 8,
    bytes_received: 16,
    cgroup_id: 24,
    ino: 32,
    held_since_ns: 40,
    key: 48,
    tid: 80,
    held_seq: 84,
    last: 88,
    answered: 89,
    fin: 90,
    ignored: 91,
    comm: 96,
  },
  { comm: 16 },
);
export const eventLayout = recordLayout(
  'tcpresponse_event',
  80,
  { end_ns: 0, wait_ns: 8, cgroup_id: 16, key: 24, tid: 56, outcome: 60, comm: 64 },
  { comm: 16 },
);
export const listenerLayout = recordLayout('tcpresponse_listener', 8, { netns: 0, port: 4 });
export const pathLayout = recordLayout('tcpresponse_path', 112, { len: 0, path: 4 }, { path: 108 });

const AF_UNIX = 1;

/** A unix socket's name from "unix_paths" ("@name" for an abstract one), or undefined. */
export function decodePath(data: Buffer): string {
  const O = pathLayout.offsets;
  const len = Math.min(data.readUInt32LE(O.len), pathLayout.lengths.path);
  const raw = data.subarray(O.path, O.path + len);
  return raw[0] === 0 ? `@${cString(raw, 1)}` : cString(raw);
}

/** A unix key's path hash → its name. */
export type PathOf = (hash: bigint) => string | undefined;

/** One side of a conversation: a client of one peer, or a server on one port (or unix socket). */
export interface SideKey {
  role: 'client' | 'server';
  pid: number;
  /** The peer a client asks ("10.0.0.5:5432", "unix:/run/postgresql/.s.PGSQL.5432"); a server's is "". */
  peer: string;
  /** The peer's port (client) or the listening port (server); 0 for a unix socket. */
  port: number;
  /** The peer's address alone ("10.0.0.5"); "" for a server and a unix socket. */
  peerAddress: string;
  /** A unix socket's name: the peer's (client) or its own (server). */
  path?: string;
}

export function decodeKey(data: Buffer, at: number, pathOf: PathOf): SideKey {
  const O = keyLayout.offsets;
  const family = data.readUInt16LE(at + O.family);
  const port = data.readUInt16LE(at + O.port);
  const client = data[at + O.role] === CLIENT;
  const pid = data.readUInt32LE(at + O.tgid);
  const role = client ? 'client' : 'server';
  if (family === AF_UNIX) {
    const hash = data.readBigUInt64LE(at + O.addr);
    const path = pathOf(hash) ?? `#${hash.toString(16)}`;
    return { role, pid, peer: client ? `unix:${path}` : '', port: 0, peerAddress: '', path };
  }
  const addr = data.subarray(at + O.addr, at + O.addr + keyLayout.lengths.addr);
  return { role, pid, peer: client ? endpointText(family, addr, port) : '', port, peerAddress: client ? addressText(family, addr) : '' };
}

/** A side's identity: a server's IPv4 and IPv6 listeners on one port are one side. */
export const sideId = (k: SideKey): string => `${k.role} ${k.pid} ${k.role === 'client' ? k.peer : (k.path ?? k.port)}`;

export interface SideStats {
  histogram: Log2Histogram;
  maxNs: number;
  cgroupId: bigint;
  comm: string;
  /** Writes Nagle's algorithm held until the peer's ACK: how many, their total and longest hold. */
  held: number;
  heldNs: number;
  heldMaxNs: number;
}

export function decodeStats(data: Buffer): SideStats {
  const O = statsLayout.offsets;
  return {
    histogram: decodeHistogram('usecs', data.subarray(O.hist, O.hist + HIST_SIZE)),
    maxNs: Number(data.readBigUInt64LE(O.max_ns)),
    cgroupId: data.readBigUInt64LE(O.cgroup_id),
    comm: cString(data, O.comm, statsLayout.lengths.comm),
    held: Number(data.readBigUInt64LE(O.held)),
    heldNs: Number(data.readBigUInt64LE(O.held_ns)),
    heldMaxNs: Number(data.readBigUInt64LE(O.held_max_ns)),
  };
}

export interface ConnState {
  key: SideKey;
  /** A unix socket's inode (0 for TCP). */
  ino: bigint;
  lastSendNs: bigint;
  lastRecvNs: bigint;
  cgroupId: bigint;
  comm: string;
  last: 'sent' | 'received';
  answered: boolean;
  /** Owned by a process the filters keep: not a request no one has answered yet (its owner unknown), nor ignored. */
  followed: boolean;
}

export function decodeConn(data: Buffer, pathOf: PathOf): ConnState {
  const O = connLayout.offsets;
  return {
    key: decodeKey(data, O.key, pathOf),
    ino: data.readBigUInt64LE(O.ino),
    lastSendNs: data.readBigUInt64LE(O.last_send_ns),
    lastRecvNs: data.readBigUInt64LE(O.last_recv_ns),
    cgroupId: data.readBigUInt64LE(O.cgroup_id),
    comm: cString(data, O.comm, connLayout.lengths.comm),
    last: data[O.last] === RECEIVED ? 'received' : 'sent',
    answered: data[O.answered] !== 0,
    followed: data.readUInt32LE(O.key + keyLayout.offsets.tgid) !== 0 && data[O.ignored] === 0,
  };
}

export interface AnswerRecord {
  key: SideKey;
  endNs: bigint;
  waitNs: number;
  cgroupId: bigint;
  tid: number;
  comm: string;
  abandoned: boolean;
}

export function decodeEvent(data: Buffer, pathOf: PathOf): AnswerRecord {
  const O = eventLayout.offsets;
  if (data.length < eventLayout.size) throw new Error(`tcpresponse record of ${data.length} bytes, expected ${eventLayout.size}`);
  return {
    key: decodeKey(data, O.key, pathOf),
    endNs: data.readBigUInt64LE(O.end_ns),
    waitNs: Number(data.readBigUInt64LE(O.wait_ns)),
    cgroupId: data.readBigUInt64LE(O.cgroup_id),
    tid: data.readUInt32LE(O.tid),
    comm: cString(data, O.comm, eventLayout.lengths.comm),
    abandoned: data[O.outcome] === ABANDONED,
  };
}

export function encodeListener(netns: number, port: number): Buffer {
  const key = Buffer.alloc(listenerLayout.size);
  key.writeUInt32LE(netns, listenerLayout.offsets.netns);
  key.writeUInt16LE(port, listenerLayout.offsets.port);
  return key;
}
