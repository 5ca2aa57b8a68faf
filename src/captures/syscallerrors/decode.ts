// The map of bpf/syscallerrors/syscallerrors.h in user space; keep the two
// in step (test/captures/syscallerrors.test.ts checks the offsets with cc).
import { cString, recordLayout } from '../records.js';

export const PATH_LEN = 128; // SYSCALLERRORS_PATH_LEN
export const MAX_NR = 512; // SYSCALLERRORS_MAX_NR

export const keyLayout = { tgid: 0, nr: 4, err: 8, fd: 12, path: 16, size: 144 } as const;
export const valueLayout = {
  count: 0,
  firstNs: 8,
  lastNs: 16,
  cgroupId: 24,
  tid: 32,
  uid: 36,
  comm: 40,
  family: 56,
  sport: 58,
  dport: 60,
  protocol: 62,
  state: 63,
  saddr: 64,
  daddr: 80,
  retryNs: 96,
  askedFamily: 104,
  askedPort: 106,
  askedAddr: 108,
  size: 128,
} as const;

export interface ErrorKey {
  tgid: number;
  nr: number;
  errno: number;
  path: string;
  /** The fd the call was given (fd_args calls, errnos that are not routine, lock calls always), else undefined. */
  fd?: number;
}

/** The inet socket behind a row's fd, as the kernel saw it when the row was made. */
export interface SocketEnds {
  family: 4 | 6;
  protocol: number;
  state: number;
  local: { ip: string; port: number };
  remote: { ip: string; port: number };
}

export interface ErrorValue {
  count: number;
  firstNs: bigint;
  lastNs: bigint;
  cgroupId: bigint;
  tid: number;
  uid: number;
  comm: string;
  socket?: SocketEnds;
  /** Time between failures under 1 s apart: a loop retrying the call. */
  retryNs: bigint;
  /** The inet address a bind or connect asked for ("0.0.0.0:8080", "[::]:8080"), at the row's first failure. */
  asked?: string;
}

export function decodeKey(data: Buffer): ErrorKey {
  if (data.length < keyLayout.size) throw new Error(`syscallerrors key of ${data.length} bytes, expected ${keyLayout.size}`);
  return {
    tgid: data.readUInt32LE(keyLayout.tgid),
    nr: data.readUInt32LE(keyLayout.nr),
    errno: data.readInt32LE(keyLayout.err),
    path: cString(data, keyLayout.path, PATH_LEN),
    ...(data.readUInt32LE(keyLayout.fd) ? { fd: data.readUInt32LE(keyLayout.fd) - 1 } : {}),
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
    retryNs: data.readBigUInt64LE(valueLayout.retryNs),
    ...socketOf(data),
    ...askedOf(data),
  };
}

function askedOf(data: Buffer): { asked?: string } {
  const family = data.readUInt16LE(valueLayout.askedFamily);
  if (family !== AF_INET && family !== AF_INET6) return {};
  const at = valueLayout.askedAddr;
  const port = data.readUInt16LE(valueLayout.askedPort);
  return { asked: family === AF_INET ? `${ipv4(data.subarray(at, at + 4))}:${port}` : `[${ipv6(data.subarray(at, at + 16))}]:${port}` };
}

const AF_INET = 2;
const AF_INET6 = 10;

function socketOf(data: Buffer): { socket?: SocketEnds } {
  const family = data.readUInt16LE(valueLayout.family);
  if (family !== AF_INET && family !== AF_INET6) return {};
  const ip = (at: number) => (family === AF_INET ? ipv4(data.subarray(at, at + 4)) : ipv6(data.subarray(at, at + 16)));
  return {
    socket: {
      family: family === AF_INET ? 4 : 6,
      protocol: data.readUInt8(valueLayout.protocol),
      state: data.readUInt8(valueLayout.state),
      local: { ip: ip(valueLayout.saddr), port: data.readUInt16LE(valueLayout.sport) },
      remote: { ip: ip(valueLayout.daddr), port: data.readUInt16LE(valueLayout.dport) },
    },
  };
}

const ipv4 = (b: Buffer) => [...b].join('.');

/** RFC 5952 text: the longest run of zero groups as "::"; an IPv4-mapped address as ::ffff:a.b.c.d. */
export function ipv6(b: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${ipv4(b.subarray(12, 16))}`;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The same offsets under the C member names, checked against the object's BTF (test/architecture/record-layouts.test.ts). */
export const keyRecord = recordLayout(
  'syscallerrors_key',
  keyLayout.size,
  { tgid: keyLayout.tgid, nr: keyLayout.nr, err: keyLayout.err, fd: keyLayout.fd, path: keyLayout.path },
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
    family: valueLayout.family,
    sport: valueLayout.sport,
    dport: valueLayout.dport,
    protocol: valueLayout.protocol,
    state: valueLayout.state,
    retry_ns: valueLayout.retryNs,
    asked_family: valueLayout.askedFamily,
    asked_port: valueLayout.askedPort,
    asked_addr: valueLayout.askedAddr,
    saddr: valueLayout.saddr,
    daddr: valueLayout.daddr,
  },
  { comm: 16, saddr: 16, daddr: 16, asked_addr: 16 },
);
