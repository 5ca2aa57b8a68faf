// The map of bpf/tcpdrop/tcpdrop.h in user space; keep the two in step.
import { addressText, tcpStateName } from '../net-address.js';

/** struct drop_key. */
export const keyLayout = {
  reason: 0, family: 4, protocol: 6, skState: 7, sport: 8, dport: 10, skPort: 12,
  saddr: 20, daddr: 36, skInode: 56, location: 64, size: 72,
} as const;
/** struct drop_value. */
export const valueLayout = { count: 0, bytes: 8, firstNs: 16, lastNs: 24, maxAckBacklog: 32, ackBacklog: 36, size: 40 } as const;

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
  const L = keyLayout;
  if (data.length < L.size) throw new Error(`tcpdrop key of ${data.length} bytes, expected ${L.size}`);
  const family = data.readUInt16LE(L.family);
  const protocol = data.readUInt8(L.protocol);
  return {
    reason: data.readUInt32LE(L.reason),
    family,
    protocol: PROTOCOLS[protocol] ?? (protocol ? `proto ${protocol}` : '?'),
    skState: tcpStateName(data.readUInt8(L.skState)),
    source: endpoint(family, data.subarray(L.saddr, L.saddr + 16), data.readUInt16LE(L.sport)),
    destination: endpoint(family, data.subarray(L.daddr, L.daddr + 16), data.readUInt16LE(L.dport)),
    skPort: data.readUInt16LE(L.skPort),
    skInode: data.readBigUInt64LE(L.skInode),
    location: data.readBigUInt64LE(L.location),
  };
}

export function decodeDropValue(data: Buffer): DropValue {
  const L = valueLayout;
  if (data.length < L.size) throw new Error(`tcpdrop value of ${data.length} bytes, expected ${L.size}`);
  return {
    count: Number(data.readBigUInt64LE(L.count)),
    bytes: Number(data.readBigUInt64LE(L.bytes)),
    firstNs: data.readBigUInt64LE(L.firstNs),
    lastNs: data.readBigUInt64LE(L.lastNs),
    maxAckBacklog: data.readUInt32LE(L.maxAckBacklog),
    ackBacklog: data.readUInt32LE(L.ackBacklog),
  };
}

/** struct listener_seen, value of "listeners" (key: socket inode, u64). */
export const listenerLayout = { maxAckBacklog: 0, maxQueue: 4, port: 8, size: 16 } as const;

export interface ListenerSeen {
  inode: bigint;
  backlog: number;
  maxQueue: number;
  port: number;
}

export function decodeListener(key: Buffer, value: Buffer): ListenerSeen {
  const L = listenerLayout;
  return { inode: key.readBigUInt64LE(0), backlog: value.readUInt32LE(L.maxAckBacklog), maxQueue: value.readUInt32LE(L.maxQueue), port: value.readUInt16LE(L.port) };
}
