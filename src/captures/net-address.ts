// Socket addresses and TCP states as people write them: 1.2.3.4:80,
// [2001:db8::1]:443, ESTABLISHED. Kernel records carry the family and 16
// address bytes (IPv4 in the first 4).
import { isIPv4 } from 'node:net';

export const AF_INET = 2;
export const AF_INET6 = 10;

/** include/net/tcp_states.h, by value. */
export const TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
] as const;

/** A TCP state's name; 0 (no socket) is "-". */
export function tcpStateName(state: number): string {
  if (state === 0) return '-';
  return TCP_STATES[state] ?? `STATE_${state}`;
}

/** A 16-byte address slot (IPv4 in the first 4 bytes) as text; IPv4-mapped IPv6 prints as IPv4. */
export function addressText(family: number, addr: Buffer): string {
  if (family === AF_INET) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  if (family !== AF_INET6) return '?';
  const mapped = addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
  if (mapped) return `${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** "1.2.3.4:80", "[::1]:80". */
export function endpointText(family: number, addr: Buffer, port: number): string {
  const host = addressText(family, addr);
  return isIPv4(host) || host === '?' ? `${host}:${port}` : `[${host}]:${port}`;
}
