// Decodes the records of bpf/tcplife/tcplife.h. Offsets follow the C struct
// field by field; keep the two in step. A storm of short connections makes
// tens of thousands of records a second, so this stays cheap: u64 fields are
// read as two u32 halves into numbers (exact below 2^53) and endpoint strings
// are made once per distinct address and port.
import { cString } from '../records.js';
import { AF_INET, endpointText } from '../net-address.js';

export const TCPLIFE_ACTIVE = 1;
export const TCPLIFE_PASSIVE = 2;
export const TCPLIFE_ESTABLISHED = 4;
export const TCPLIFE_OWNER_UNKNOWN = 8;

export const eventLayout = {
  tsNs: 0, durationNs: 8, bytesSent: 16, bytesReceived: 24, cgroupId: 32, pid: 40, tid: 44, err: 48,
  family: 52, lport: 54, rport: 56, flags: 58, oldstate: 59, comm: 64, laddr: 80, raddr: 96, size: 112,
} as const;

/** include/net/tcp_states.h */
export const TCP_STATES = [
  '', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT',
  'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
] as const;

export interface ConnectionRecord {
  tsNs: number;
  durationNs: number;
  bytesSent: number;
  bytesReceived: number;
  cgroupId: bigint;
  pid: number;
  tid: number;
  err: number;
  family: number;
  local: string;
  remote: string;
  flags: number;
  oldstate: number;
  comm: string;
}

const u64 = (data: Buffer, offset: number) => data.readUInt32LE(offset) + data.readUInt32LE(offset + 4) * 2 ** 32;

/** Endpoint strings by family, address and port; one decoder per capture run. */
export class EndpointCache {
  private readonly v4 = new Map<number, string>();
  private readonly other = new Map<string, string>();

  text(data: Buffer, addrOffset: number, family: number, port: number): string {
    if (family === AF_INET) {
      const key = data.readUInt32LE(addrOffset) * 65536 + port;
      let s = this.v4.get(key);
      if (s === undefined) {
        s = `${data[addrOffset]}.${data[addrOffset + 1]}.${data[addrOffset + 2]}.${data[addrOffset + 3]}:${port}`;
        this.v4.set(key, s);
      }
      return s;
    }
    const key = `${family}/${data.toString('hex', addrOffset, addrOffset + 16)}/${port}`;
    let s = this.other.get(key);
    if (s === undefined) {
      s = endpointText(family, Buffer.from(data.subarray(addrOffset, addrOffset + 16)), port);
      this.other.set(key, s);
    }
    return s;
  }
}

export function decodeConnection(data: Buffer, endpoints = new EndpointCache()): ConnectionRecord | undefined {
  const L = eventLayout;
  if (data.length < L.size) return undefined;
  const family = data.readUInt16LE(L.family);
  return {
    tsNs: u64(data, L.tsNs),
    durationNs: u64(data, L.durationNs),
    bytesSent: u64(data, L.bytesSent),
    bytesReceived: u64(data, L.bytesReceived),
    cgroupId: data.readBigUInt64LE(L.cgroupId),
    pid: data.readUInt32LE(L.pid),
    tid: data.readUInt32LE(L.tid),
    err: data.readInt32LE(L.err),
    family,
    local: endpoints.text(data, L.laddr, family, data.readUInt16LE(L.lport)),
    remote: endpoints.text(data, L.raddr, family, data.readUInt16LE(L.rport)),
    flags: data.readUInt8(L.flags),
    oldstate: data.readUInt8(L.oldstate),
    comm: cString(data, L.comm, 16),
  };
}
