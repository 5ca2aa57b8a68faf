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
export const statsLayout = recordLayout('tcpresponse_stats', 304, { hist: 0, max_ns: 272, cgroup_id: 280, comm: 288 }, { comm: 16 });
export const connLayout = recordLayout(
  'tcpresponse_conn',
  88,
  { last_send_ns: 0, last_recv_ns: 8, bytes_received: 16, cgroup_id: 24, key: 32, tid: 64, last: 68, answered: 69, fin: 70, comm: 72 },
  { comm: 16 },
);
export const eventLayout = recordLayout(
  'tcpresponse_event',
  80,
  { end_ns: 0, wait_ns: 8, cgroup_id: 16, key: 24, tid: 56, outcome: 60, comm: 64 },
  { comm: 16 },
);
export const listenerLayout = recordLayout('tcpresponse_listener', 8, { netns: 0, port: 4 });

/** One side of a conversation: a client of one peer, or a server on one port. */
export interface SideKey {
  role: 'client' | 'server';
  pid: number;
  /** The peer a client asks ("10.0.0.5:5432"); a server's is "". */
  peer: string;
  /** The peer's port (client) or the listening port (server). */
  port: number;
  /** The peer's address alone ("10.0.0.5"); "" for a server. */
  peerAddress: string;
}

export function decodeKey(data: Buffer, at = 0): SideKey {
  const O = keyLayout.offsets;
  const family = data.readUInt16LE(at + O.family);
  const port = data.readUInt16LE(at + O.port);
  const client = data[at + O.role] === CLIENT;
  const addr = data.subarray(at + O.addr, at + O.addr + keyLayout.lengths.addr);
  return {
    role: client ? 'client' : 'server',
    pid: data.readUInt32LE(at + O.tgid),
    peer: client ? endpointText(family, addr, port) : '',
    port,
    peerAddress: client ? addressText(family, addr) : '',
  };
}

/** A side's identity: a server's IPv4 and IPv6 listeners on one port are one side. */
export const sideId = (k: SideKey): string => `${k.role} ${k.pid} ${k.role === 'client' ? k.peer : k.port}`;

export interface SideStats {
  histogram: Log2Histogram;
  maxNs: number;
  cgroupId: bigint;
  comm: string;
}

export function decodeStats(data: Buffer): SideStats {
  const O = statsLayout.offsets;
  return {
    histogram: decodeHistogram('usecs', data.subarray(O.hist, O.hist + HIST_SIZE)),
    maxNs: Number(data.readBigUInt64LE(O.max_ns)),
    cgroupId: data.readBigUInt64LE(O.cgroup_id),
    comm: cString(data, O.comm, statsLayout.lengths.comm),
  };
}

export interface ConnState {
  key: SideKey;
  lastSendNs: bigint;
  lastRecvNs: bigint;
  cgroupId: bigint;
  comm: string;
  last: 'sent' | 'received';
  answered: boolean;
}

export function decodeConn(data: Buffer): ConnState {
  const O = connLayout.offsets;
  return {
    key: decodeKey(data, O.key),
    lastSendNs: data.readBigUInt64LE(O.last_send_ns),
    lastRecvNs: data.readBigUInt64LE(O.last_recv_ns),
    cgroupId: data.readBigUInt64LE(O.cgroup_id),
    comm: cString(data, O.comm, connLayout.lengths.comm),
    last: data[O.last] === RECEIVED ? 'received' : 'sent',
    answered: data[O.answered] !== 0,
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

export function decodeEvent(data: Buffer): AnswerRecord {
  const O = eventLayout.offsets;
  if (data.length < eventLayout.size) throw new Error(`tcpresponse record of ${data.length} bytes, expected ${eventLayout.size}`);
  return {
    key: decodeKey(data, O.key),
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
