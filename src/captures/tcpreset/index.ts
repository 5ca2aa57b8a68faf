// tcpreset: TCP resets this host sent and received, per flow, direction, TCP
// state, kernel reason and owning process, counted in the kernel. Most resets
// are sent or taken in softirq context: the process is the socket's owner
// (bpf/common/tcp_owner.bpf.h). A reset answering a segment no socket
// wanted (a closed port) has no owner.
import { kernelClock } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { decodeKey, decodeValue, keyLayout, resetReasonNames, valueLayout, type SocketKind } from './decode.js';
import { tcpresetAnalysis } from './analyze.js';
import { tcpresetSetup } from './setup.js';
import { localServers, readListeners } from '../tcpresponse/listeners.js';
import { commOf } from '../../cgroups/hierarchy.js';

export type TcpresetParams = typeof tcpresetSetup.defaults;

export interface ResetRow {
  /** sent: this host sent the RST; received: a socket here took one. */
  direction: 'sent' | 'received';
  /** "ip:port" of this host's end, and the peer's. */
  local: string;
  remote: string;
  family: 'ipv4' | 'ipv6' | 'unknown';
  /** The socket's TCP state ("-": no socket; SYN_SENT for a refused connect). */
  state: string;
  /** state CLOSE: the state the socket left (ESTABLISHED for an abortive close), when known. */
  closedFrom?: string;
  /** What the kernel had: a full socket, a request sock (handshake), a timewait sock, or none. */
  socket: SocketKind;
  /** Why the kernel sent it (enum sk_rst_reason, e.g. NO_SOCKET, TCP_ABORT_ON_CLOSE); sent resets only. */
  reason?: string;
  /** The socket's owner (tgid) and comm; 0 and "" when unknown or no socket. */
  pid: number;
  comm: string;
  cgroupId: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

export interface TcpresetData {
  rows: ResetRow[];
  /** Totals over every row counted (not only those kept). */
  sent: number;
  received: number;
  /** Rows counted in the kernel; `rows` keeps the first maxRows. */
  totalRows: number;
  /** The process listening at a server end ("ip:port") on this host whose closed connections were written on. */
  servers?: Record<string, { pid: number; comm: string }>;
}

const FAMILY = { 2: 'ipv4', 10: 'ipv6' } as Record<number, 'ipv4' | 'ipv6'>;

export const tcpreset: CaptureDefinition<TcpresetParams, TcpresetData> = {
  ...tcpresetSetup,
  summary: 'TCP resets sent and received per flow, with direction, state, reason and owning process',
  kind: 'counters',
  analysis: tcpresetAnalysis,

  records: [keyLayout, valueLayout],

  collect({ object, params }) {
    const toWallMs = kernelClock();
    const reasons = resetReasonNames();
    return {
      finish: () => {
        const rows: ResetRow[] = [];
        for (const [k, v] of object.map('resets').entries()) {
          const key = decodeKey(k);
          const value = decodeValue(v);
          rows.push({
            direction: key.direction,
            local: key.local,
            remote: key.remote,
            family: FAMILY[key.family] ?? 'unknown',
            state: key.state,
            ...(key.closedFrom ? { closedFrom: key.closedFrom } : {}),
            socket: key.socket,
            ...(key.reason !== undefined ? { reason: reasons.get(key.reason) ?? String(key.reason) } : {}),
            pid: key.tgid,
            comm: value.comm,
            cgroupId: value.cgroupId.toString(),
            count: value.count,
            firstSeen: new Date(toWallMs(value.firstNs)).toISOString(),
            lastSeen: new Date(toWallMs(value.lastNs)).toISOString(),
          });
        }
        const total = (d: ResetRow['direction']) => rows.filter((r) => r.direction === d).reduce((a, r) => a + r.count, 0);
        rows.sort((a, b) => b.count - a.count || a.direction.localeCompare(b.direction) || a.local.localeCompare(b.local));
        const servers = closedServers(rows);
        return {
          rows: rows.slice(0, params.maxRows),
          sent: total('sent'),
          received: total('received'),
          totalRows: rows.length,
          ...(servers.size ? { servers: Object.fromEntries(servers) } : {}),
        };
      },
    };
  },

  table: ({ rows }) => ({ columns, rows }),
  count: ({ rows }) => rows.length,
};

/**
 * The server behind connections written on after it closed them: looked up
 * from its clients here (their CLOSE_WAIT resets: the server end, in their
 * network namespace), or from its own resets at one of this host's
 * addresses (a loopback one could be any namespace's: left unnamed).
 */
function closedServers(rows: ResetRow[]): Map<string, { pid: number; comm: string }> {
  const ends = [
    ...rows.filter((r) => r.direction === 'received' && r.state === 'CLOSE_WAIT' && r.pid).map((r) => ({ pid: r.pid, peer: r.remote })),
    ...rows
      .filter((r) => r.direction === 'sent' && r.socket === 'timewait' && !/^(127\.|\[::1\])/.test(r.local))
      .map((r) => ({ pid: process.pid, peer: r.local })),
  ];
  const named = new Map<string, { pid: number; comm: string }>();
  if (!ends.length) return named;
  for (const [end, server] of localServers(ends, readListeners())) {
    named.set(end, { pid: server.pid, comm: commOf(server.pid) });
  }
  return named;
}

const stateText = (r: ResetRow) => (r.closedFrom ? `${r.closedFrom}>${r.state}` : r.state);

const columns: Column<ResetRow>[] = [
  { header: 'DIR', value: (r) => (r.direction === 'sent' ? 'SENT' : 'RECV') },
  { header: 'PID', value: (r) => (r.pid ? String(r.pid) : '-'), numeric: true },
  { header: 'COMM', value: (r) => r.comm || '-' },
  { header: 'LOCAL', value: (r) => r.local },
  { header: 'REMOTE', value: (r) => r.remote },
  { header: 'STATE', value: stateText },
  { header: 'COUNT', value: (r) => String(r.count), numeric: true },
  { header: 'REASON', value: (r) => r.reason ?? (r.socket === 'none' ? '(no socket)' : '-') },
];
