// The map of bpf/tcpreset/tcpreset.h in user space, at the offsets below
// (checked against the object's BTF by test/architecture/record-layouts.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tracingRoot } from '../../libbpf/index.js';
import { endpointText, tcpStateName } from '../net-address.js';
import { cString, recordLayout } from '../records.js';

export const TCPRESET_SENT = 1;
export const TCPRESET_RECEIVED = 2;
const NO_REASON = 0xffff;
const TCP_TIME_WAIT = 6;
const TCP_NEW_SYN_RECV = 12;

export const keyLayout = recordLayout(
  'tcpreset_key',
  48,
  {
    saddr: 0,
    daddr: 16,
    sport: 32,
    dport: 34,
    family: 36,
    direction: 38,
    state: 39,
    closed_from: 40,
    full_socket: 41,
    reason: 42,
    tgid: 44,
  },
  { saddr: 16, daddr: 16 },
);
export const valueLayout = recordLayout('tcpreset_value', 48, { count: 0, first_ns: 8, last_ns: 16, cgroup_id: 24, comm: 32 }, { comm: 16 });

export type SocketKind = 'full' | 'request' | 'timewait' | 'none';

export interface ResetKey {
  direction: 'sent' | 'received';
  local: string;
  remote: string;
  family: number;
  state: string;
  /** For state CLOSE: the state the socket left (an abortive close), when known. */
  closedFrom?: string;
  socket: SocketKind;
  /** enum sk_rst_reason of a sent reset, as a number; undefined when none. */
  reason?: number;
  tgid: number;
}

export interface ResetValue {
  count: number;
  firstNs: bigint;
  lastNs: bigint;
  cgroupId: bigint;
  comm: string;
}

function socketKind(full: boolean, state: number): SocketKind {
  if (full) return 'full';
  if (state === 0) return 'none';
  if (state === TCP_NEW_SYN_RECV) return 'request';
  return state === TCP_TIME_WAIT ? 'timewait' : 'full';
}

/** struct tcpreset_key. */
export function decodeKey(data: Buffer): ResetKey {
  const K = keyLayout.offsets;
  if (data.length < keyLayout.size) throw new Error(`tcpreset key of ${data.length} bytes, expected ${keyLayout.size}`);
  const family = data.readUInt16LE(K.family);
  const state = data.readUInt8(K.state);
  const closedFrom = data.readUInt8(K.closed_from);
  const reason = data.readUInt16LE(K.reason);
  return {
    direction: data.readUInt8(K.direction) === TCPRESET_RECEIVED ? 'received' : 'sent',
    local: endpointText(family, data.subarray(K.saddr, K.saddr + keyLayout.lengths.saddr), data.readUInt16LE(K.sport)),
    remote: endpointText(family, data.subarray(K.daddr, K.daddr + keyLayout.lengths.daddr), data.readUInt16LE(K.dport)),
    family,
    state: tcpStateName(state),
    ...(closedFrom ? { closedFrom: tcpStateName(closedFrom) } : {}),
    socket: socketKind(data.readUInt8(K.full_socket) === 1, state),
    ...(reason !== NO_REASON ? { reason } : {}),
    tgid: data.readUInt32LE(K.tgid),
  };
}

/** struct tcpreset_value. */
export function decodeValue(data: Buffer): ResetValue {
  const V = valueLayout.offsets;
  if (data.length < valueLayout.size) throw new Error(`tcpreset value of ${data.length} bytes, expected ${valueLayout.size}`);
  return {
    count: Number(data.readBigUInt64LE(V.count)),
    firstNs: data.readBigUInt64LE(V.first_ns),
    lastNs: data.readBigUInt64LE(V.last_ns),
    cgroupId: data.readBigUInt64LE(V.cgroup_id),
    comm: cString(data, V.comm, valueLayout.lengths.comm),
  };
}

/**
 * enum sk_rst_reason's names on this kernel, from tcp_send_reset's print
 * format (the values change between kernels; the format file is the truth).
 */
export function resetReasonNames(): Map<number, string> {
  const names = new Map<number, string>();
  let format = '';
  try {
    format = readFileSync(join(tracingRoot(), 'events', 'tcp', 'tcp_send_reset', 'format'), 'utf8');
  } catch {
    return names;
  }
  const at = format.indexOf('REC->reason,');
  if (at < 0) return names;
  for (const m of format.slice(at).matchAll(/\{\s*(\d+),\s*"([A-Z0-9_]+)"\s*\}/g)) names.set(Number(m[1]), m[2]!);
  return names;
}
