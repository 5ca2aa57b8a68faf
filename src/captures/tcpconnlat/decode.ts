// Decodes the maps of bpf/tcpconnlat/tcpconnlat.h at the offsets below
// (checked against the object's BTF by test/architecture/record-layouts.test.ts).
import { cString, recordLayout } from '../records.js';
import { endpointText } from '../net-address.js';

export const SLOWEST_MAX = 128; // TCPCONNLAT_SLOWEST_MAX

/** struct tcpconnlat_dest: the key of dest_hists. */
export const destLayout = recordLayout('tcpconnlat_dest', 24, { family: 0, dport: 2, daddr: 8 }, { daddr: 16 });
/** struct tcpconnlat_fail_key and struct tcpconnlat_fail: the map failures. */
export const failKeyLayout = recordLayout('tcpconnlat_fail_key', 32, { dest: 0, err: 24 });
export const failLayout = recordLayout('tcpconnlat_fail', 32, { count: 0, pid: 8, comm: 16 }, { comm: 16 });
/** struct tcpconnlat_connect, and struct tcpconnlat_slowest (min_ns, min_idx, e[]): the map slowest. */
export const connectLayout = recordLayout(
  'tcpconnlat_connect',
  88,
  {
    latency_ns: 0,
    ts_ns: 8,
    cgroup_id: 16,
    pid: 24,
    tid: 28,
    comm: 32,
    family: 48,
    sport: 50,
    dport: 52,
    saddr: 56,
    daddr: 72,
  },
  { comm: 16, saddr: 16, daddr: 16 },
);
export const slowestLayout = recordLayout('tcpconnlat_slowest', 16 + SLOWEST_MAX * connectLayout.size, { min_ns: 0, min_idx: 8, e: 16 }, { e: SLOWEST_MAX });

export function decodeDestination(key: Buffer, offset = 0): string {
  const O = destLayout.offsets;
  const family = key.readUInt16LE(offset + O.family);
  const port = key.readUInt16LE(offset + O.dport);
  return endpointText(family, key.subarray(offset + O.daddr, offset + O.daddr + destLayout.lengths.daddr), port);
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
    destination: decodeDestination(key, failKeyLayout.offsets.dest),
    errno: key.readInt32LE(failKeyLayout.offsets.err),
    count: Number(value.readBigUInt64LE(failLayout.offsets.count)),
    pid: value.readUInt32LE(failLayout.offsets.pid),
    comm: cString(value, failLayout.offsets.comm, failLayout.lengths.comm),
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
  const L = connectLayout.offsets;
  const size = connectLayout.size;
  const addrLen = connectLayout.lengths.saddr;
  for (let i = 0; i < slowestLayout.lengths.e; i++) {
    const at = slowestLayout.offsets.e + i * size;
    if (at + size > value.length) break;
    const latencyNs = value.readBigUInt64LE(at + L.latency_ns);
    if (latencyNs === 0n) continue; // an empty slot
    const family = value.readUInt16LE(at + L.family);
    out.push({
      latencyNs,
      tsNs: value.readBigUInt64LE(at + L.ts_ns),
      cgroupId: value.readBigUInt64LE(at + L.cgroup_id),
      pid: value.readUInt32LE(at + L.pid),
      tid: value.readUInt32LE(at + L.tid),
      comm: cString(value, at + L.comm, connectLayout.lengths.comm),
      source: endpointText(family, value.subarray(at + L.saddr, at + L.saddr + addrLen), value.readUInt16LE(at + L.sport)),
      destination: endpointText(family, value.subarray(at + L.daddr, at + L.daddr + addrLen), value.readUInt16LE(at + L.dport)),
    });
  }
  return out;
}
