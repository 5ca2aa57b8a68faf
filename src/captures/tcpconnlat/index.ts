// tcpconnlat: how long TCP connects take (SYN_SENT → ESTABLISHED) per
// destination as log2 histograms in µs, the slowest connects with the process
// that made them, and failed connects by destination and error.
import { errnoName } from '../../libbpf/index.js';
import { kernelClock } from '../../util/clock.js';
import type { CaptureDefinition, Column, LabeledHistogram } from '../capture.js';
import { decodeHistogram, histLayout, renderHistogram } from '../histogram.js';
import { fmtUs, renderTable } from '../../format/index.js';
import {
  connectLayout,
  decodeDestination,
  decodeFailure,
  decodeSlowest,
  destLayout,
  failKeyLayout,
  failLayout,
  slowestLayout,
  type ConnectRecord,
} from './decode.js';
import { tcpconnlatEvents } from './syscall-events.js';
import { tcpconnlatAnalysis, tcpconnlatConnects } from './analyze.js';
import { tcpconnlatBaseline } from './baseline.js';
import { tcpconnlatSetup } from './setup.js';

const PROGRAM = 'tp_inet_sock_set_state';

export type TcpconnlatParams = typeof tcpconnlatSetup.defaults;

export interface SlowConnect {
  time: string;
  /** The process that called connect() (taken at SYN_SENT, in its context). */
  pid: number;
  tid: number;
  comm: string;
  cgroupId: string;
  source: string;
  destination: string;
  latencyUs: number;
}

export interface ConnectFailure {
  destination: string;
  /** sk->sk_err when the connect ended: ECONNREFUSED (reset), ETIMEDOUT (no answer), EHOSTUNREACH (ICMP), ...;
   *  "closed" (errno 0) when its owner closed the socket before it connected. */
  error: string;
  errno: number;
  count: number;
  /** The last process whose connect failed so. */
  pid: number;
  comm: string;
}

export interface TcpconnlatData {
  /** One per destination, labels { destination: 'ip:port' }, unit usecs; most connects first. */
  histograms: LabeledHistogram[];
  /** Slowest first. */
  slowest: SlowConnect[];
  /** Most first. */
  failures: ConnectFailure[];
  /**
   * State changes the kernel did not run this capture's program for: it skips
   * a tracepoint program that would nest in another BPF program on the same
   * CPU (a softirq interrupting one). Each may be a connect not timed.
   */
  missedRuns: number;
}

interface DestinationRow {
  destination: string;
  connects: number;
  avgUs: number;
  p50: number;
  p99: number;
  failed: number;
}

export const tcpconnlat: CaptureDefinition<TcpconnlatParams, TcpconnlatData> = {
  ...tcpconnlatSetup,
  summary: 'TCP connect latency per destination (histograms), slowest connects, failed connects by error',
  kind: 'histogram',
  analysis: tcpconnlatAnalysis,
  baseline: tcpconnlatBaseline,
  ruleEvents: { kind: 'connect', records: tcpconnlatConnects },
  syscallEvents: { types: ['connect'], events: tcpconnlatEvents },

  records: [destLayout, histLayout, failKeyLayout, failLayout, connectLayout, slowestLayout],

  collect({ object, params }) {
    const toWallMs = kernelClock();
    return {
      finish(): TcpconnlatData {
        const histograms = object
          .map('dest_hists')
          .entries()
          .map(([key, value]) => ({ labels: { destination: decodeDestination(key) }, histogram: decodeHistogram('usecs', value) }))
          .sort((a, b) => b.histogram.count - a.histogram.count);

        const failures = object
          .map('failures')
          .entries()
          .map(([key, value]) => decodeFailure(key, value))
          .map((f) => ({ ...f, error: f.errno ? errnoName(f.errno) : 'closed' }))
          .sort((a, b) => b.count - a.count)
          .map(({ destination, error, errno, count, pid, comm }) => ({ destination, error, errno, count, pid, comm }));

        const slowestMap = object.map('slowest');
        const perCpu = slowestMap.lookup(Buffer.alloc(4));
        const connects: ConnectRecord[] = perCpu ? slowestMap.perCpuValues(perCpu).flatMap(decodeSlowest) : [];
        const slowest = connects
          .sort((a, b) => (b.latencyNs > a.latencyNs ? 1 : b.latencyNs < a.latencyNs ? -1 : 0))
          .slice(0, params.slowest)
          .map((c) => ({
            time: new Date(toWallMs(c.tsNs)).toISOString(),
            pid: c.pid,
            tid: c.tid,
            comm: c.comm,
            cgroupId: c.cgroupId.toString(),
            source: c.source,
            destination: c.destination,
            latencyUs: Number(c.latencyNs) / 1000,
          }));
        const missedRuns = object.missedRuns(PROGRAM);
        return { histograms, slowest, failures, missedRuns };
      },
    };
  },

  table: (data) => ({ columns: destinationColumns, rows: destinationRows(data) }),

  text(data) {
    const parts: string[] = [];
    for (const { labels, histogram } of data.histograms) {
      const avg = histogram.count ? histogram.sum / histogram.count : 0;
      parts.push(`connects to ${labels.destination}: ${histogram.count}, avg ${fmtUs(avg)}\n${renderHistogram(histogram)}`);
    }
    if (!data.histograms.length) parts.push('(no completed connects)');
    if (data.slowest.length) parts.push(`slowest connects:\n${renderTable(slowColumns, data.slowest)}`);
    if (data.failures.length) parts.push(`failed connects:\n${renderTable(failureColumns, data.failures)}`);
    if (data.missedRuns) parts.push(`(${data.missedRuns} state changes not seen: the kernel skipped the program while another BPF program ran on that CPU)`);
    return parts.join('\n\n');
  },

  count: (data) => destinationRows(data).length,
};

function destinationRows(data: TcpconnlatData): DestinationRow[] {
  const rows = new Map<string, DestinationRow>();
  for (const { labels, histogram: h } of data.histograms) {
    const destination = String(labels.destination);
    rows.set(destination, { destination, connects: h.count, avgUs: h.count ? h.sum / h.count : 0, p50: h.p50, p99: h.p99, failed: 0 });
  }
  for (const f of data.failures) {
    const row = rows.get(f.destination) ?? { destination: f.destination, connects: 0, avgUs: 0, p50: 0, p99: 0, failed: 0 };
    row.failed += f.count;
    rows.set(f.destination, row);
  }
  return [...rows.values()];
}

const destinationColumns: Column<DestinationRow>[] = [
  { header: 'DESTINATION', value: (r) => r.destination },
  { header: 'CONNECTS', value: (r) => String(r.connects), numeric: true },
  { header: 'AVG', value: (r) => (r.connects ? fmtUs(r.avgUs) : '-'), numeric: true },
  { header: 'P50<', value: (r) => (r.connects ? fmtUs(r.p50) : '-'), numeric: true },
  { header: 'P99<', value: (r) => (r.connects ? fmtUs(r.p99) : '-'), numeric: true },
  { header: 'FAILED', value: (r) => String(r.failed), numeric: true },
];

const slowColumns: Column<SlowConnect>[] = [
  { header: 'TIME', value: (c) => c.time.slice(11, 23) },
  { header: 'PID', value: (c) => String(c.pid), numeric: true },
  { header: 'COMM', value: (c) => c.comm },
  { header: 'SOURCE', value: (c) => c.source },
  { header: 'DESTINATION', value: (c) => c.destination },
  { header: 'LAT(ms)', value: (c) => (c.latencyUs / 1000).toFixed(3), numeric: true },
];

const failureColumns: Column<ConnectFailure>[] = [
  { header: 'DESTINATION', value: (f) => f.destination },
  { header: 'ERROR', value: (f) => f.error },
  { header: 'COUNT', value: (f) => String(f.count), numeric: true },
  { header: 'LAST PID', value: (f) => String(f.pid), numeric: true },
  { header: 'LAST COMM', value: (f) => f.comm },
];
