// tcpretrans: TCP retransmits per flow (local → remote), TCP state at the
// retransmit and owning process, counted in the kernel; SYN-ACK retransmits of
// listeners too. Retransmits run in timer/softirq context: the process is the
// socket's owner, remembered where it connects, listens or sends
// (bpf/common/tcp_owner.bpf.h), never the interrupted task.
import { kernelClock } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { decodeKey, decodeValue, keyLayout, valueLayout } from './decode.js';
import { tcpretransAnalysis } from './analyze.js';
import { tcpretransSetup } from './setup.js';

export type TcpretransParams = typeof tcpretransSetup.defaults;

export interface RetransRow {
  /** "ip:port" of this host's end, and the peer's. */
  local: string;
  remote: string;
  family: 'ipv4' | 'ipv6';
  /** TCP state at the retransmit: ESTABLISHED, SYN_SENT (a SYN), FIN_WAIT1, ..., SYN_RECV for a SYN-ACK. */
  state: string;
  /** segment: data, SYN or FIN (tcp_retransmit_skb); synack: a listener's SYN-ACK. */
  type: 'segment' | 'synack';
  /** The socket's owner (tgid) and its comm; 0 and "" when unknown (a socket older than the capture, unused in it). */
  pid: number;
  comm: string;
  cgroupId: string;
  retransmits: number;
  /** Attempts the kernel could not send (e.g. the original still queued). */
  failed: number;
  firstSeen: string;
  lastSeen: string;
  /**
   * Data segments: retransmits of a full MSS or more, those on a socket its program had closed, the MSS and path MTU
   * at the last one, the most timeouts of one segment in a row.
   */
  fullSize?: number;
  orphaned?: number;
  mss?: number;
  pmtu?: number;
  maxTimeouts?: number;
}

export interface RetransProcess {
  pid: number;
  comm: string;
  retransmits: number;
  failed: number;
  /** Distinct flows (local → remote) with a retransmit. */
  flows: number;
}

export interface TcpretransData {
  rows: RetransRow[];
  /** Per owning process, over every flow counted (not only the rows kept); pid 0: owner unknown. */
  processes: RetransProcess[];
  /** Rows counted in the kernel; `rows` keeps the first maxRows. */
  totalRows: number;
}

export const tcpretrans: CaptureDefinition<TcpretransParams, TcpretransData> = {
  ...tcpretransSetup,
  summary: 'TCP retransmits (data, SYN, FIN, SYN-ACK) per flow, TCP state and owning process',
  kind: 'counters',
  analysis: tcpretransAnalysis,

  records: [keyLayout, valueLayout],

  collect({ object, params }) {
    const toWallMs = kernelClock();
    return {
      finish: () => {
        const rows: RetransRow[] = [];
        for (const [k, v] of object.map('flows').entries()) {
          const key = decodeKey(k);
          const value = decodeValue(v);
          rows.push({
            local: key.local,
            remote: key.remote,
            family: key.family === 10 ? 'ipv6' : 'ipv4',
            state: key.state,
            type: key.type,
            pid: key.tgid,
            comm: value.comm,
            cgroupId: value.cgroupId.toString(),
            retransmits: value.retransmits,
            failed: value.failed,
            firstSeen: new Date(toWallMs(value.firstNs)).toISOString(),
            lastSeen: new Date(toWallMs(value.lastNs)).toISOString(),
            ...(key.type === 'segment'
              ? { fullSize: value.fullSize, orphaned: value.orphaned, mss: value.mss, pmtu: value.pmtu, maxTimeouts: value.maxTimeouts }
              : {}),
          });
        }
        rows.sort((a, b) => b.retransmits - a.retransmits || b.failed - a.failed || a.local.localeCompare(b.local));
        return { rows: rows.slice(0, params.maxRows), processes: summarize(rows), totalRows: rows.length };
      },
    };
  },

  table: ({ rows }) => ({ columns, rows }),
  text: (data) => renderText(data),
  count: ({ rows }) => rows.length,
};

function summarize(rows: RetransRow[]): RetransProcess[] {
  const byPid = new Map<number, RetransProcess & { flowSet: Set<string> }>();
  for (const row of rows) {
    let p = byPid.get(row.pid);
    if (!p) byPid.set(row.pid, (p = { pid: row.pid, comm: row.comm, retransmits: 0, failed: 0, flows: 0, flowSet: new Set() }));
    p.retransmits += row.retransmits;
    p.failed += row.failed;
    p.flowSet.add(`${row.local} ${row.remote}`);
    if (!p.comm) p.comm = row.comm;
  }
  return [...byPid.values()].map(({ flowSet, ...p }) => ({ ...p, flows: flowSet.size })).sort((a, b) => b.retransmits - a.retransmits || a.pid - b.pid);
}

const owner = (pid: number, comm: string) => (pid ? `${pid} ${comm}` : '- (unknown)');

const columns: Column<RetransRow>[] = [
  { header: 'PID', value: (r) => (r.pid ? String(r.pid) : '-'), numeric: true },
  { header: 'COMM', value: (r) => r.comm || '-' },
  { header: 'LOCAL', value: (r) => r.local },
  { header: 'REMOTE', value: (r) => r.remote },
  { header: 'STATE', value: (r) => (r.type === 'synack' ? `${r.state} (SYN-ACK)` : r.state) },
  { header: 'RETRANS', value: (r) => String(r.retransmits), numeric: true },
  { header: 'FAILED', value: (r) => String(r.failed), numeric: true },
  { header: 'LAST', value: (r) => r.lastSeen.slice(11, 23) },
];

/** The flow table, then the per-process summary. */
function renderText(data: TcpretransData): string {
  if (!data.rows.length) return '(no retransmits)';
  const table = [columns.map((c) => c.header), ...data.rows.map((r) => columns.map((c) => c.value(r)))];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (columns[i]!.numeric ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = table.map(line);
  if (data.totalRows > data.rows.length) out.push(`(${data.totalRows - data.rows.length} more rows)`);
  out.push('', 'per process:');
  for (const p of data.processes) {
    out.push(`  ${owner(p.pid, p.comm).padEnd(24)} ${String(p.retransmits).padStart(8)} retransmits  ${p.failed} failed  ${p.flows} flows`);
  }
  return out.join('\n');
}
