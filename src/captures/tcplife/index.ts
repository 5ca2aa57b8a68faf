// tcplife: every TCP connection that closes inside the window, with its
// owner, endpoints, duration and payload bytes each way.
import { errnoName, RingBufferReader } from '../../libbpf/index.js';
import { kernelClock } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { AF_INET6, TCP_STATES } from '../net-address.js';
import { decodeConnection, EndpointCache, eventLayout, TCPLIFE_ACTIVE, TCPLIFE_ESTABLISHED, TCPLIFE_OWNER_UNKNOWN, type ConnectionRecord } from './decode.js';
import { tcplifeAnalysis, tcplifeConnects } from './analyze.js';
import { tcplifeEvents } from './syscall-events.js';
import { tcplifeSetup } from './setup.js';

export type TcplifeParams = typeof tcplifeSetup.defaults;

export interface TcpConnection {
  /** When it reached TCP_CLOSE. */
  time: string;
  /**
   * The owner. Active opens: the process that called connect(). Passive opens
   * (accepted): the process whose close() or shutdown() ended it; 0 with
   * ownerKnown false when it ended without one (reset by the peer, or never
   * accepted) — the handshake runs in softirq, where no owner can be read.
   */
  pid: number;
  tid: number;
  comm: string;
  ownerKnown: boolean;
  cgroupId: string;
  /** ip:port on this host, and of the peer. */
  local: string;
  remote: string;
  ipVersion: 4 | 6;
  /** active: we connected; passive: we accepted. */
  direction: 'active' | 'passive';
  /** False for a connect that never completed (refused, timed out, aborted). */
  established: boolean;
  /** From SYN_SENT (active) or SYN_RECV (passive) to TCP_CLOSE. */
  durationMs: number;
  /** Payload the peer acknowledged (tcp_sock.bytes_acked). */
  bytesSent: number;
  /** Payload received in order (tcp_sock.bytes_received). */
  bytesReceived: number;
  /** The state it closed from: FIN_WAIT2 and LAST_ACK are orderly ends, SYN_SENT a failed connect. */
  closedFrom: string;
  /** sk_err when it closed: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ... (absent: none). */
  error?: string;
}

export interface TcplifeData {
  events: TcpConnection[];
  /**
   * State changes the kernel did not run this capture's program for: it skips
   * a tracepoint program that would nest in another BPF program on the same
   * CPU (a softirq interrupting one). Each may be a connection not reported.
   */
  missedRuns: number;
}

const CHUNK_RECORDS = 8192;

export const tcplife: CaptureDefinition<TcplifeParams, TcplifeData> = {
  ...tcplifeSetup,
  summary: 'TCP connections that closed: owner, endpoints, duration, bytes sent and received',
  kind: 'events',
  analysis: tcplifeAnalysis,
  ruleEvents: { kind: 'connect', records: tcplifeConnects, complete: true },
  syscallEvents: { types: ['connect', 'accept'], events: tcplifeEvents, complete: true },

  records: [eventLayout],

  collect({ object, params }) {
    const reader = new RingBufferReader(object.map('events'));
    const clockBaseMs = kernelClock()(0n); // wall-clock ms at kernel time 0
    // While the capture runs, records are only copied (a storm of short
    // connections makes tens of thousands a second, and this process shares
    // the machine with the workload); they are decoded once: in finish(), or
    // as they come when a consumer takes them (Falco rules, take()).
    const chunks: Buffer[] = [];
    let chunk = Buffer.alloc(0);
    let used = 0;
    let kept = 0;
    let overCap = 0;
    const onRecord = (data: Buffer) => {
      if (data.length < eventLayout.size) return;
      if (kept >= params.maxEvents) return void overCap++;
      if (used + eventLayout.size > chunk.length) {
        chunk = Buffer.allocUnsafe(CHUNK_RECORDS * eventLayout.size);
        chunks.push(chunk);
        used = 0;
      }
      data.copy(chunk, used, 0, eventLayout.size);
      used += eventLayout.size;
      kept++;
    };
    const endpoints = new EndpointCache();
    const events: TcpConnection[] = [];
    // Decoded up to here: chunk index and byte offset in it.
    let doneChunk = 0;
    let doneAt = 0;
    const decodeNew = () => {
      for (; doneChunk < chunks.length; doneChunk++, doneAt = 0) {
        const c = chunks[doneChunk]!;
        const end = doneChunk === chunks.length - 1 ? used : c.length;
        for (; doneAt < end; doneAt += eventLayout.size) {
          const record = decodeConnection(c.subarray(doneAt, doneAt + eventLayout.size), endpoints);
          if (record) events.push(toConnection(record, clockBaseMs));
        }
        if (doneChunk === chunks.length - 1) break; // the last chunk may still fill
      }
    };
    let taken = 0;
    const finish = (): TcplifeData => {
      decodeNew();
      const missedRuns = object.missedRuns('tp_inet_sock_set_state');
      return { events, missedRuns };
    };
    return {
      poll: () => void reader.drain(onRecord),
      take: () => {
        decodeNew();
        const fresh = events.slice(taken);
        taken = events.length;
        return fresh;
      },
      finish,
      drops: () => (overCap ? { event_cap: overCap } : {}),
      close: () => reader.close(),
    };
  },

  table: ({ events }) => ({ columns, rows: events }),
  count: ({ events }) => events.length,
};

function toConnection(r: ConnectionRecord, clockBaseMs: number): TcpConnection {
  const ownerKnown = !(r.flags & TCPLIFE_OWNER_UNKNOWN);
  return {
    time: new Date(clockBaseMs + r.tsNs / 1e6).toISOString(),
    pid: r.pid,
    tid: r.tid,
    comm: ownerKnown ? r.comm : '',
    ownerKnown,
    cgroupId: r.cgroupId.toString(),
    local: r.local,
    remote: r.remote,
    ipVersion: r.family === AF_INET6 ? 6 : 4,
    direction: r.flags & TCPLIFE_ACTIVE ? 'active' : 'passive',
    established: Boolean(r.flags & TCPLIFE_ESTABLISHED),
    durationMs: r.durationNs / 1e6,
    bytesSent: r.bytesSent,
    bytesReceived: r.bytesReceived,
    closedFrom: TCP_STATES[r.oldstate] ?? `state ${r.oldstate}`,
    ...(r.err ? { error: errnoName(r.err) } : {}),
  };
}

const kb = (n: number) => (n / 1024).toFixed(n < 10 * 1024 ? 1 : 0);

const columns: Column<TcpConnection>[] = [
  { header: 'TIME', value: (c) => c.time.slice(11, 23) },
  { header: 'PID', value: (c) => (c.ownerKnown ? String(c.pid) : '?'), numeric: true },
  { header: 'COMM', value: (c) => (c.ownerKnown ? c.comm : '?') },
  { header: 'LOCAL', value: (c) => c.local },
  { header: 'REMOTE', value: (c) => c.remote },
  { header: 'DIR', value: (c) => (c.direction === 'active' ? 'out' : 'in') },
  { header: 'TX_KB', value: (c) => kb(c.bytesSent), numeric: true },
  { header: 'RX_KB', value: (c) => kb(c.bytesReceived), numeric: true },
  { header: 'MS', value: (c) => c.durationMs.toFixed(2), numeric: true },
  { header: 'END', value: (c) => c.error ?? (c.established ? `from ${c.closedFrom}` : 'not established') },
];
