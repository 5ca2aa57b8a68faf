// tcprtt: the smoothed RTT (srtt) of TCP connections as log2 histograms in
// microseconds, per remote endpoint (or remote address) and overall, built in
// the kernel from tcp:tcp_probe. With a process, cgroup, uid or comm target,
// only sockets owned by it count (owner tracking in
// bpf/common/tcp_owner.bpf.h, loaded only then).
import type { CaptureDefinition, Column, LabeledHistogram } from '../capture.js';
import { decodeHistogram, histLayout, renderHistogram, type Log2Histogram } from '../histogram.js';
import { addressText, endpointText } from '../net-address.js';
import { recordLayout } from '../records.js';
import { fmtUs } from '../../format/index.js';
import { tcprttAnalysis } from './analyze.js';
import { tcprttSetup } from './setup.js';

export type TcprttParams = typeof tcprttSetup.defaults;

export interface TcprttData {
  /** labels { remote: "ip:port" } (or "ip" with groupBy remoteAddr); unit µs. */
  histograms: LabeledHistogram[];
  /** Every sample, also those of remotes past maxRows or maxRemotes. */
  overall: Log2Histogram;
  /** Remotes with a histogram in the kernel; `histograms` keeps the first maxRows. */
  totalRemotes: number;
}

const UNIT = 'usecs';
/** struct tcprtt_key (bpf/tcprtt/tcprtt.h). */
export const keyLayout = recordLayout('tcprtt_key', 24, { addr: 0, port: 16, family: 18 }, { addr: 16 });

export const tcprtt: CaptureDefinition<TcprttParams, TcprttData> = {
  ...tcprttSetup,
  summary: 'TCP smoothed RTT histograms (µs) per remote endpoint and overall',
  kind: 'histogram',
  analysis: tcprttAnalysis,

  records: [keyLayout, histLayout],

  collect({ object, params }) {
    return {
      finish: () => {
        const histograms: LabeledHistogram[] = [];
        for (const [k, v] of object.map('remotes').entries()) {
          histograms.push({ labels: { remote: remoteLabel(k, params.groupBy) }, histogram: decodeHistogram(UNIT, v) });
        }
        histograms.sort((a, b) => b.histogram.count - a.histogram.count);
        const all = object.map('overall');
        const zero = Buffer.alloc(4);
        const value = all.lookup(zero);
        const overall = value ? decodeHistogram(UNIT, ...all.perCpuValues(value)) : decodeHistogram(UNIT);
        return { histograms: histograms.slice(0, params.maxRows), overall, totalRemotes: histograms.length };
      },
    };
  },

  table: ({ histograms }) => ({ columns, rows: histograms }),
  text: ({ histograms, overall, totalRemotes }) => {
    if (!overall.count) return '(no RTT samples)';
    const parts = histograms.map((h) => `remote = ${h.labels.remote}\n${renderHistogram(h.histogram)}`);
    if (totalRemotes > histograms.length) parts.push(`(${totalRemotes - histograms.length} more remotes)`);
    parts.push(`all remotes (avg ${Math.round(overall.sum / overall.count)} ${UNIT})\n${renderHistogram(overall)}`);
    return parts.join('\n\n');
  },
  count: ({ histograms }) => histograms.length,
};

/** struct tcprtt_key → "ip:port" or "ip". */
function remoteLabel(key: Buffer, groupBy: TcprttParams['groupBy']): string {
  const O = keyLayout.offsets;
  if (key.length < keyLayout.size) throw new Error(`tcprtt key of ${key.length} bytes, expected ${keyLayout.size}`);
  const family = key.readUInt16LE(O.family);
  const addr = key.subarray(O.addr, O.addr + keyLayout.lengths.addr);
  return groupBy === 'remoteAddr' ? addressText(family, addr) : endpointText(family, addr, key.readUInt16LE(O.port));
}

const columns: Column<LabeledHistogram>[] = [
  { header: 'REMOTE', value: (h) => String(h.labels.remote) },
  { header: 'SAMPLES', value: (h) => String(h.histogram.count), numeric: true },
  { header: 'AVG', value: (h) => fmtUs(Math.round(h.histogram.sum / Math.max(1, h.histogram.count))), numeric: true },
  { header: 'P50<', value: (h) => fmtUs(h.histogram.p50), numeric: true },
  { header: 'P99<', value: (h) => fmtUs(h.histogram.p99), numeric: true },
];
