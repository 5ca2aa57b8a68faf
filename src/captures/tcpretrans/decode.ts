// The map of bpf/tcpretrans/tcpretrans.h in user space, at the offsets below
// (checked against the object's BTF by test/architecture/record-layouts.test.ts).
import { endpointText, tcpStateName } from '../net-address.js';
import { cString, recordLayout } from '../records.js';

export const TCPRETRANS_SEGMENT = 1;
export const TCPRETRANS_SYNACK = 2;

export const keyLayout = recordLayout(
  'tcpretrans_key',
  48,
  {
    saddr: 0,
    daddr: 16,
    sport: 32,
    dport: 34,
    family: 36,
    state: 38,
    type: 39,
    tgid: 40,
  },
  { saddr: 16, daddr: 16 },
);
export const valueLayout = recordLayout(
  'tcpretrans_value',
  88,
  {
    retransmits: 0,
    failed: 8,
    first_ns: 16,
    last_ns: 24,
    cgroup_id: 32,
    comm: 40,
    full_size: 56,
    orphaned: 64,
    mss: 72,
    pmtu: 76,
    max_timeouts: 80,
  },
  { comm: 16 },
);

export interface FlowKey {
  local: string;
  remote: string;
  family: number;
  state: string;
  type: 'segment' | 'synack';
  /** The socket's owner; 0 when unknown. */
  tgid: number;
}

export interface FlowValue {
  retransmits: number;
  failed: number;
  firstNs: bigint;
  lastNs: bigint;
  cgroupId: bigint;
  comm: string;
  /** Data segments: retransmits of a full MSS or more, the MSS and path MTU, the most timeouts in a row before one. */
  fullSize: number;
  /** Retransmits on a socket its program had already closed (an orphan: no one waits on it). */
  orphaned: number;
  mss: number;
  pmtu: number;
  maxTimeouts: number;
}

/** struct tcpretrans_key. */
export function decodeKey(data: Buffer): FlowKey {
  const K = keyLayout.offsets;
  if (data.length < keyLayout.size) throw new Error(`tcpretrans key of ${data.length} bytes, expected ${keyLayout.size}`);
  const family = data.readUInt16LE(K.family);
  return {
    local: endpointText(family, data.subarray(K.saddr, K.saddr + keyLayout.lengths.saddr), data.readUInt16LE(K.sport)),
    remote: endpointText(family, data.subarray(K.daddr, K.daddr + keyLayout.lengths.daddr), data.readUInt16LE(K.dport)),
    family,
    state: tcpStateName(data.readUInt8(K.state)),
    type: data.readUInt8(K.type) === TCPRETRANS_SYNACK ? 'synack' : 'segment',
    tgid: data.readUInt32LE(K.tgid),
  };
}

/** struct tcpretrans_value. */
export function decodeValue(data: Buffer): FlowValue {
  const V = valueLayout.offsets;
  if (data.length < valueLayout.size) throw new Error(`tcpretrans value of ${data.length} bytes, expected ${valueLayout.size}`);
  return {
    retransmits: Number(data.readBigUInt64LE(V.retransmits)),
    failed: Number(data.readBigUInt64LE(V.failed)),
    firstNs: data.readBigUInt64LE(V.first_ns),
    lastNs: data.readBigUInt64LE(V.last_ns),
    cgroupId: data.readBigUInt64LE(V.cgroup_id),
    comm: cString(data, V.comm, valueLayout.lengths.comm),
    fullSize: Number(data.readBigUInt64LE(V.full_size)),
    orphaned: Number(data.readBigUInt64LE(V.orphaned)),
    mss: data.readUInt32LE(V.mss),
    pmtu: data.readUInt32LE(V.pmtu),
    maxTimeouts: data.readUInt8(V.max_timeouts),
  };
}
