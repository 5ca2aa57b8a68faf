// Decodes the maps of bpf/tcpconnlat/tcpconnlat.h. Offsets follow the C
// structs field by field; keep the two in step.
import { cString } from '../records.js';
import { endpointText } from '../net-address.js';

export const SLOWEST_MAX = 128; // TCPCONNLAT_SLOWEST_MAX

/** struct tcpconnlat_dest: family u16, dport u16, pad, daddr[16]. */
export const destLayout = { family: 0, dport: 2, daddr: 8, size: 24 } as const;
/** struct tcpconnlat_fail_key: dest, err s32. struct tcpconnlat_fail: count, pid, comm. */
export const failKeyLayout = { err: 24, size: 32 } as const;
export const failLayout = { count: 0, pid: 8, comm: 16, size: 32 } as const;
/** struct tcpconnlat_connect, and struct tcpconnlat_slowest (min_ns, min_idx, e[]). */
export const connectLayout = {
  latencyNs: 0, tsNs: 8, cgroupId: 16, pid: 24, tid: 28, comm: 32,
  family: 48, sport: 50, dport: 52, saddr: 56, daddr: 72, size: 88,
} as const;
export const slowestLayout = { entries: 16, size: 16 + SLOWEST_MAX * connectLayout.size } as const;

export function decodeDestination(key: Buffer, offset = 0): string {
  const family = key.readUInt16LE(offset + destLayout.family);
  const port = key.readUInt16LE(offset + destLayout.dport);
  return endpointText(family, key.subarray(offset + destLayout.daddr, offset + destLayout.daddr + 16), port);
}

export interface FailureRecord {
  destination: string;
  errno: number;
  count: number;
  pid: number;
  comm: string;
}

export function decodeFailure(key: Buffer, value: Buffer): FailureRecord {
  return {
    destination: decodeDestination(key),
    errno: key.readInt32LE(failKeyLayout.err),
    count: Number(value.readBigUInt64LE(failLayout.count)),
    pid: value.readUInt32LE(failLayout.pid),
    comm: cString(value, failLayout.comm, 16),
  };
}

export interface ConnectRecord {
  latencyNs: bigint;
  tsNs: bigint;
  cgroupId: bigint;
  pid: number;
  tid: number;
  comm: string;
  source: string;
  destination: string;
}

/** The used slots of one CPU's struct tcpconnlat_slowest. */
export function decodeSlowest(value: Buffer): ConnectRecord[] {
  const out: ConnectRecord[] = [];
  const L = connectLayout;
  for (let i = 0; i < SLOWEST_MAX; i++) {
    const at = slowestLayout.entries + i * L.size;
    if (at + L.size > value.length) break;
    const latencyNs = value.readBigUInt64LE(at + L.latencyNs);
    if (latencyNs === 0n) continue; // an empty slot
    const family = value.readUInt16LE(at + L.family);
    out.push({
      latencyNs,
      tsNs: value.readBigUInt64LE(at + L.tsNs),
      cgroupId: value.readBigUInt64LE(at + L.cgroupId),
      pid: value.readUInt32LE(at + L.pid),
      tid: value.readUInt32LE(at + L.tid),
      comm: cString(value, at + L.comm, 16),
      source: endpointText(family, value.subarray(at + L.saddr, at + L.saddr + 16), value.readUInt16LE(at + L.sport)),
      destination: endpointText(family, value.subarray(at + L.daddr, at + L.daddr + 16), value.readUInt16LE(at + L.dport)),
    });
  }
  return out;
}
