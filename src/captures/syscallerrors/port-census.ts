// What a process that found no local port to connect from (EADDRNOTAVAIL from
// connect) is up against: its network namespace's TCP sockets by state (a
// connection this side closed holds its port 60 s in TIME_WAIT), their busiest
// destinations, and the local port range when that namespace is ours
// (/proc/sys shows the reader's namespace; /proc/PID/net the process's).
import { readFileSync, statSync } from 'node:fs';
import { addTo, topEntries } from '../../analysis/common.js';
import { procTcpSockets } from '../proc-net-tcp.js';

export interface PortCensus {
  /** TCP sockets in the process's network namespace, by state, most first. */
  tcpStates: { state: string; count: number }[];
  /** Destinations of the TIME_WAIT sockets, most first. */
  timeWaitTo: { destination: string; count: number }[];
  /** net.ipv4.ip_local_port_range, when the process is in our network namespace. */
  portRange?: [number, number];
}

const TOP = 3;

export function portCensus(pid: number): PortCensus | undefined {
  const sockets = procTcpSockets(pid);
  if (!sockets.length) return undefined;
  const states = new Map<string, number>();
  const timeWaitTo = new Map<string, number>();
  for (const s of sockets) {
    addTo(states, s.state, 1);
    if (s.state === 'TIME_WAIT') addTo(timeWaitTo, s.remote, 1);
  }
  const range = sameNetns(pid) ? portRange() : undefined;
  return {
    tcpStates: topEntries(states).map(([state, count]) => ({ state, count })),
    timeWaitTo: topEntries(timeWaitTo, TOP).map(([destination, count]) => ({ destination, count })),
    ...(range ? { portRange: range } : {}),
  };
}

/** "with 28,231 TCP connections in TIME_WAIT (27,900 to 10.0.0.5:5432) for 28,232 local ports (32768-60999)". */
export function portCensusText(c: PortCensus): string {
  const timeWait = c.tcpStates.find((s) => s.state === 'TIME_WAIT')?.count ?? 0;
  const to = c.timeWaitTo[0] ? ` (${c.timeWaitTo[0].count.toLocaleString('en-US')} to ${c.timeWaitTo[0].destination})` : '';
  const ports = c.portRange ? ` for ${(c.portRange[1] - c.portRange[0] + 1).toLocaleString('en-US')} local ports (${c.portRange[0]}-${c.portRange[1]})` : '';
  return `with ${timeWait.toLocaleString('en-US')} TCP connections in TIME_WAIT in its network namespace${to}${ports}`;
}

function sameNetns(pid: number): boolean {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino === statSync('/proc/self/ns/net').ino;
  } catch {
    return false;
  }
}

function portRange(): [number, number] | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low && high ? [low, high] : undefined;
  } catch {
    return undefined;
  }
}
