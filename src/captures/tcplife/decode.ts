// Decodes the records of bpf/tcplife/tcplife.h, at the offsets of
// eventLayout (checked against the object's BTF by
// test/architecture/record-layouts.test.ts). A storm of short connections makes
// tens of thousands of records a second, so this stays cheap: u64 fields are
// read as two u32 halves into numbers (exact below 2^53) and endpoint strings
// are made once per distinct address and port.
import { cString, recordLayout } from '../records.js';
import { AF_INET, endpointText } from '../net-address.js';

export const TCPLIFE_ACTIVE = 1;
export const TCPLIFE_PASSIVE = 2;
export const TCPLIFE_ESTABLISHED = 4;
export const TCPLIFE_OWNER_UNKNOWN = 8;

/** struct tcplife_event: one closed connection (ring buffer "events"). */
export const eventLayout = recordLayout(
  'tcplife_event',
  112,
  {
    ts_ns: 0,
    duration_ns: 8,
    bytes_sent: 16,
    bytes_received: 24,
    cgroup_id: 32,
    pid: 40,
    tid: 44,
    err: 48,
    family: 52,
    lport: 54,
    rport: 56,
    flags: 58,
    oldstate: 59,
    comm: 64,
    laddr: 80,
    raddr: 96,
  },
  { comm: 16, laddr: 16, raddr: 16 },
);

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
  const L = eventLayout.offsets;
  if (data.length < eventLayout.size) return undefined;
  const family = data.readUInt16LE(L.family);
  return {
    tsNs: u64(data, L.ts_ns),
    durationNs: u64(data, L.duration_ns),
    bytesSent: u64(data, L.bytes_sent),
    bytesReceived: u64(data, L.bytes_received),
    cgroupId: data.readBigUInt64LE(L.cgroup_id),
    pid: data.readUInt32LE(L.pid),
    tid: data.readUInt32LE(L.tid),
    err: data.readInt32LE(L.err),
    family,
    local: endpoints.text(data, L.laddr, family, data.readUInt16LE(L.lport)),
    remote: endpoints.text(data, L.raddr, family, data.readUInt16LE(L.rport)),
    flags: data.readUInt8(L.flags),
    oldstate: data.readUInt8(L.oldstate),
    comm: cString(data, L.comm, eventLayout.lengths.comm),
  };
}
