// The map of bpf/tcpdrop/tcpdrop.h in user space, at the offsets below
// (checked against the object's BTF by test/architecture/record-layouts.test.ts).
import { addressText, tcpStateName } from '../net-address.js';
import { recordLayout } from '../records.js';

/** struct drop_key. */
export const keyLayout = recordLayout(
  'drop_key',
  72,
  {
    reason: 0,
    family: 4,
    protocol: 6,
    sk_state: 7,
    sport: 8,
    dport: 10,
    sk_port: 12,
    saddr: 20,
    daddr: 36,
    sk_inode: 56,
    location: 64,
  },
  { saddr: 16, daddr: 16 },
);
/** struct drop_value. */
export const valueLayout = recordLayout('drop_value', 40, { count: 0, bytes: 8, first_ns: 16, last_ns: 24, max_ack_backlog: 32, ack_backlog: 36 });

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

export interface DropKey {
  reason: number;
  family: number;
  protocol: string;
  /** TCP state of the socket, "-" without one. */
  skState: string;
  /** "ip:port" from the packet headers ("" when the packet had none parsed). */
  source: string;
  destination: string;
  /** The socket's local port, 0 without a socket. */
  skPort: number;
  skInode: bigint;
  location: bigint;
}

export interface DropValue {
  count: number;
  bytes: number;
  firstNs: bigint;
  lastNs: bigint;
  maxAckBacklog: number;
  ackBacklog: number;
}

/** "ip:port", or "ip" when the port is not kept (the ephemeral side). */
function endpoint(family: number, addr: Buffer, port: number): string {
  if (addr.every((b) => b === 0)) return '';
  const ip = addressText(family, addr);
  if (!port) return ip;
  return family === 10 && ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function decodeDropKey(data: Buffer): DropKey {
  const L = keyLayout.offsets;
  if (data.length < keyLayout.size) throw new Error(`tcpdrop key of ${data.length} bytes, expected ${keyLayout.size}`);
  const family = data.readUInt16LE(L.family);
  const protocol = data.readUInt8(L.protocol);
  return {
    reason: data.readUInt32LE(L.reason),
    family,
    protocol: PROTOCOLS[protocol] ?? (protocol ? `proto ${protocol}` : '?'),
    skState: tcpStateName(data.readUInt8(L.sk_state)),
    source: endpoint(family, data.subarray(L.saddr, L.saddr + keyLayout.lengths.saddr), data.readUInt16LE(L.sport)),
    destination: endpoint(family, data.subarray(L.daddr, L.daddr + keyLayout.lengths.daddr), data.readUInt16LE(L.dport)),
    skPort: data.readUInt16LE(L.sk_port),
    skInode: data.readBigUInt64LE(L.sk_inode),
    location: data.readBigUInt64LE(L.location),
  };
}

export function decodeDropValue(data: Buffer): DropValue {
  const L = valueLayout.offsets;
  if (data.length < valueLayout.size) throw new Error(`tcpdrop value of ${data.length} bytes, expected ${valueLayout.size}`);
  return {
    count: Number(data.readBigUInt64LE(L.count)),
    bytes: Number(data.readBigUInt64LE(L.bytes)),
    firstNs: data.readBigUInt64LE(L.first_ns),
    lastNs: data.readBigUInt64LE(L.last_ns),
    maxAckBacklog: data.readUInt32LE(L.max_ack_backlog),
    ackBacklog: data.readUInt32LE(L.ack_backlog),
  };
}

/** struct listener_seen, value of "listeners" (key: socket inode, u64). */
export const listenerLayout = recordLayout('listener_seen', 16, { max_ack_backlog: 0, max_queue: 4, port: 8 });

export interface ListenerSeen {
  inode: bigint;
  backlog: number;
  maxQueue: number;
  port: number;
}

export function decodeListener(key: Buffer, value: Buffer): ListenerSeen {
  const L = listenerLayout.offsets;
  return {
    inode: key.readBigUInt64LE(0),
    backlog: value.readUInt32LE(L.max_ack_backlog),
    maxQueue: value.readUInt32LE(L.max_queue),
    port: value.readUInt16LE(L.port),
  };
}
