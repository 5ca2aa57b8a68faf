// A process's network namespace's TCP sockets, from /proc/PID/net/tcp and
// tcp6 (the namespace of PID, whoever reads): state, ends and inode. A walk of
// every socket in the kernel's tables, so read once per question, not per event.
import { readFileSync } from 'node:fs';
import { AF_INET, AF_INET6, endpointText, tcpStateName } from './net-address.js';

export interface ProcTcpSocket {
  state: string;
  /** "ip:port" ("[v6]:port"). */
  local: string;
  remote: string;
  inode: string;
  /** Bytes written and not yet acknowledged by the peer (a listener: its accept queue). */
  sendQueue: number;
  /** Bytes received and not yet read. */
  receiveQueue: number;
}

export function procTcpSockets(pid: number): ProcTcpSocket[] {
  const out: ProcTcpSocket[] = [];
  for (const [table, family] of [
    ['tcp', AF_INET],
    ['tcp6', AF_INET6],
  ] as const) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue; // gone, or no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [tx, rx] = f[4]!.split(':');
      out.push({
        state: tcpStateName(parseInt(f[3]!, 16)),
        local: endpoint(family, f[1]!),
        remote: endpoint(family, f[2]!),
        inode: f[9]!,
        sendQueue: parseInt(tx ?? '0', 16),
        receiveQueue: parseInt(rx ?? '0', 16),
      });
    }
  }
  return out;
}

/** "0100007F:1F90" → 127.0.0.1:8080: the address in 32-bit words of host (little-endian) order, the port in hex. */
function endpoint(family: number, hex: string): string {
  const [address, port] = hex.split(':');
  const bytes = Buffer.alloc(16);
  const words = Buffer.from(address ?? '', 'hex');
  for (let i = 0; i + 4 <= words.length; i += 4) bytes.writeUInt32BE(words.readUInt32LE(i), i);
  return endpointText(family, bytes, parseInt(port ?? '0', 16));
}
