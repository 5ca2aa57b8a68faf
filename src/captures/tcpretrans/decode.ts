// The map of bpf/tcpretrans/tcpretrans.h in user space; keep the two in step.
import { endpointText, tcpStateName } from '../net-address.js';
import { cString } from '../records.js';

export const TCPRETRANS_SEGMENT = 1;
export const TCPRETRANS_SYNACK = 2;

const KEY_SIZE = 48;
const VALUE_SIZE = 56;

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
}

/** struct tcpretrans_key. */
export function decodeKey(data: Buffer): FlowKey {
  if (data.length < KEY_SIZE) throw new Error(`tcpretrans key of ${data.length} bytes, expected ${KEY_SIZE}`);
  const family = data.readUInt16LE(36);
  return {
    local: endpointText(family, data.subarray(0, 16), data.readUInt16LE(32)),
    remote: endpointText(family, data.subarray(16, 32), data.readUInt16LE(34)),
    family,
    state: tcpStateName(data.readUInt8(38)),
    type: data.readUInt8(39) === TCPRETRANS_SYNACK ? 'synack' : 'segment',
    tgid: data.readUInt32LE(40),
  };
}

/** struct tcpretrans_value. */
export function decodeValue(data: Buffer): FlowValue {
  if (data.length < VALUE_SIZE) throw new Error(`tcpretrans value of ${data.length} bytes, expected ${VALUE_SIZE}`);
  return {
    retransmits: Number(data.readBigUInt64LE(0)),
    failed: Number(data.readBigUInt64LE(8)),
    firstNs: data.readBigUInt64LE(16),
    lastNs: data.readBigUInt64LE(24),
    cgroupId: data.readBigUInt64LE(32),
    comm: cString(data.subarray(40, 56)),
  };
}
