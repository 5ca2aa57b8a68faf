// The map of bpf/syscallerrors/syscallerrors.h in user space; keep the two
// in step (test/captures/syscallerrors.test.ts checks the offsets with cc).
import { cString, recordLayout } from '../records.js';

export const PATH_LEN = 128; // SYSCALLERRORS_PATH_LEN
export const MAX_NR = 512; // SYSCALLERRORS_MAX_NR

export const keyLayout = { tgid: 0, nr: 4, err: 8, path: 16, size: 144 } as const;
export const valueLayout = { count: 0, firstNs: 8, lastNs: 16, cgroupId: 24, tid: 32, uid: 36, comm: 40, size: 56 } as const;

export interface ErrorKey {
  tgid: number;
  nr: number;
  errno: number;
  path: string;
}

export interface ErrorValue {
  count: number;
  firstNs: bigint;
  lastNs: bigint;
  cgroupId: bigint;
  tid: number;
  uid: number;
  comm: string;
}

export function decodeKey(data: Buffer): ErrorKey {
  if (data.length < keyLayout.size) throw new Error(`syscallerrors key of ${data.length} bytes, expected ${keyLayout.size}`);
  return {
    tgid: data.readUInt32LE(keyLayout.tgid),
    nr: data.readUInt32LE(keyLayout.nr),
    errno: data.readInt32LE(keyLayout.err),
    path: cString(data, keyLayout.path, PATH_LEN),
  };
}

export function decodeValue(data: Buffer): ErrorValue {
  if (data.length < valueLayout.size) throw new Error(`syscallerrors value of ${data.length} bytes, expected ${valueLayout.size}`);
  return {
    count: Number(data.readBigUInt64LE(valueLayout.count)),
    firstNs: data.readBigUInt64LE(valueLayout.firstNs),
    lastNs: data.readBigUInt64LE(valueLayout.lastNs),
    cgroupId: data.readBigUInt64LE(valueLayout.cgroupId),
    tid: data.readUInt32LE(valueLayout.tid),
    uid: data.readUInt32LE(valueLayout.uid),
    comm: cString(data, valueLayout.comm, 16),
  };
}

/** The same offsets under the C member names, checked against the object's BTF (test/architecture/record-layouts.test.ts). */
export const keyRecord = recordLayout(
  'syscallerrors_key',
  keyLayout.size,
  { tgid: keyLayout.tgid, nr: keyLayout.nr, err: keyLayout.err, pad: keyLayout.err + 4, path: keyLayout.path },
  { path: PATH_LEN },
);
export const valueRecord = recordLayout(
  'syscallerrors_value',
  valueLayout.size,
  {
    count: valueLayout.count,
    first_ns: valueLayout.firstNs,
    last_ns: valueLayout.lastNs,
    cgroup_id: valueLayout.cgroupId,
    tid: valueLayout.tid,
    uid: valueLayout.uid,
    comm: valueLayout.comm,
  },
  { comm: 16 },
);
