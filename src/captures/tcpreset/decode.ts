// The map of bpf/tcpreset/tcpreset.h in user space; keep the two in step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tracingRoot } from '../../libbpf/index.js';
import { endpointText, tcpStateName } from '../net-address.js';
import { cString } from '../records.js';

export const TCPRESET_SENT = 1;
export const TCPRESET_RECEIVED = 2;
const NO_REASON = 0xffff;
const TCP_TIME_WAIT = 6;
const TCP_NEW_SYN_RECV = 12;

const KEY_SIZE = 48;
const VALUE_SIZE = 48;

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
  if (data.length < KEY_SIZE) throw new Error(`tcpreset key of ${data.length} bytes, expected ${KEY_SIZE}`);
  const family = data.readUInt16LE(36);
  const state = data.readUInt8(39);
  const closedFrom = data.readUInt8(40);
  const reason = data.readUInt16LE(42);
  return {
    direction: data.readUInt8(38) === TCPRESET_RECEIVED ? 'received' : 'sent',
    local: endpointText(family, data.subarray(0, 16), data.readUInt16LE(32)),
    remote: endpointText(family, data.subarray(16, 32), data.readUInt16LE(34)),
    family,
    state: tcpStateName(state),
    ...(closedFrom ? { closedFrom: tcpStateName(closedFrom) } : {}),
    socket: socketKind(data.readUInt8(41) === 1, state),
    ...(reason !== NO_REASON ? { reason } : {}),
    tgid: data.readUInt32LE(44),
  };
}

/** struct tcpreset_value. */
export function decodeValue(data: Buffer): ResetValue {
  if (data.length < VALUE_SIZE) throw new Error(`tcpreset value of ${data.length} bytes, expected ${VALUE_SIZE}`);
  return {
    count: Number(data.readBigUInt64LE(0)),
    firstNs: data.readBigUInt64LE(8),
    lastNs: data.readBigUInt64LE(16),
    cgroupId: data.readBigUInt64LE(24),
    comm: cString(data.subarray(32, 48)),
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
