// struct dnslat_event of bpf/dnslat/dnslat.h in user space (checked against the
// object's BTF by test/architecture/record-layouts.test.ts), and the start of
// the DNS message it carries: the header and the question (RFC 1035 4.1).
import { addressText } from '../net-address.js';
import { cString, recordLayout } from '../records.js';

export const DNSLAT_QUERY = 1;
export const DNSLAT_RESPONSE = 2;

export const eventLayout = recordLayout(
  'dnslat_event',
  344,
  {
    ts_ns: 0,
    cgroup_id: 8,
    pid: 16,
    tid: 20,
    saddr: 24,
    daddr: 40,
    sport: 56,
    dport: 58,
    family: 60,
    length: 62,
    captured: 64,
    direction: 66,
    comm: 72,
    payload: 88,
  },
  { saddr: 16, daddr: 16, comm: 16, payload: 256 },
);

export interface DnsPacket {
  tsNs: bigint;
  direction: 'query' | 'response';
  /** Queries: the sender. */
  pid: number;
  tid: number;
  cgroupId: bigint;
  comm: string;
  /** Addresses as text ("10.0.0.2", "fd00::53"), ports in host order. */
  source: string;
  sourcePort: number;
  destination: string;
  destinationPort: number;
  /** The DNS message, or undefined when too little of it was captured to read its header. */
  message?: DnsMessage;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  /** TC: the answer did not fit in UDP (the client asks again over TCP). */
  truncated: boolean;
  /** RCODE by name (NOERROR, NXDOMAIN, SERVFAIL, ...). */
  rcode: string;
  answers: number;
  /** The first question, when it could be read: "api.example.com", "A". */
  name?: string;
  type?: string;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const TYPES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  64: 'SVCB',
  65: 'HTTPS',
  255: 'ANY',
};
const HEADER = 12;

export function decodeDnsPacket(data: Buffer): DnsPacket | undefined {
  const O = eventLayout.offsets;
  if (data.length < eventLayout.size) return undefined;
  const family = data.readUInt16LE(O.family);
  const captured = Math.min(data.readUInt16LE(O.captured), eventLayout.lengths.payload);
  return {
    tsNs: data.readBigUInt64LE(O.ts_ns),
    direction: data.readUInt8(O.direction) === DNSLAT_RESPONSE ? 'response' : 'query',
    pid: data.readUInt32LE(O.pid),
    tid: data.readUInt32LE(O.tid),
    cgroupId: data.readBigUInt64LE(O.cgroup_id),
    comm: cString(data, O.comm, eventLayout.lengths.comm),
    source: addressText(family, data.subarray(O.saddr, O.saddr + 16)),
    sourcePort: data.readUInt16LE(O.sport),
    destination: addressText(family, data.subarray(O.daddr, O.daddr + 16)),
    destinationPort: data.readUInt16LE(O.dport),
    message: parseDnsMessage(data.subarray(O.payload, O.payload + captured)),
  };
}

/** The header and first question of a DNS message (what was captured of it). */
export function parseDnsMessage(m: Buffer): DnsMessage | undefined {
  if (m.length < HEADER) return undefined;
  const flags = m.readUInt16BE(2);
  const message: DnsMessage = {
    id: m.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: RCODES[flags & 0xf] ?? `RCODE ${flags & 0xf}`,
    answers: m.readUInt16BE(6),
  };
  if (m.readUInt16BE(4) === 0) return message;
  const labels: string[] = [];
  let at = HEADER;
  while (at < m.length) {
    const n = m[at]!;
    if (n === 0) break;
    if (n > 63 || at + 1 + n > m.length) return message; // a pointer (not in a question) or cut short
    labels.push(m.toString('latin1', at + 1, at + 1 + n));
    at += 1 + n;
  }
  if (at + 3 > m.length) return message;
  const type = m.readUInt16BE(at + 1);
  return { ...message, name: labels.join('.') || '.', type: TYPES[type] ?? `TYPE${type}` };
}
