// biolatency: block I/O latency per disk (issue → completion), as log2
// histograms in microseconds, like bcc biolatency -D. Usually whole-host:
// completion runs in interrupt context, so a --pid/--comm/cgroup target
// selects requests by the task that *issued* them (direct I/O: the process
// itself; buffered writeback: flusher kworkers; a queue run asynchronously:
// kblockd), not by whoever waits for them.
import type { CaptureDefinition, Column, LabeledHistogram } from '../capture.js';
import { decodeHistogram, histLayout, renderHistogram } from '../histogram.js';
import { devString, diskNames } from './disks.js';
import { biolatencyAnalysis } from './analyze.js';
import { biolatencyBaseline } from './baseline.js';
import { biolatencySetup } from './setup.js';

export type BiolatencyParams = typeof biolatencySetup.defaults;

export interface BiolatencyData {
  /** One per disk, labels { disk }: "vda", or "major:minor" for a device no longer listed. */
  histograms: LabeledHistogram[];
}

export const biolatency: CaptureDefinition<BiolatencyParams, BiolatencyData> = {
  ...biolatencySetup,
  summary: 'block I/O latency per disk, issue to completion (µs histograms)',
  kind: 'histogram',
  analysis: biolatencyAnalysis,
  baseline: biolatencyBaseline,

  records: [histLayout],

  collect({ object }) {
    return {
      finish: () => {
        const names = diskNames();
        const histograms = object
          .map('hists')
          .entries()
          .map(([key, value]) => {
            const dev = key.readUInt32LE(0);
            return { labels: { disk: names.get(dev) ?? devString(dev) }, histogram: decodeHistogram('usecs', value) };
          })
          .filter((h) => h.histogram.count > 0)
          .sort((a, b) => b.histogram.count - a.histogram.count);
        return { histograms };
      },
    };
  },

  table: ({ histograms }) => ({ columns, rows: histograms }),
  text: ({ histograms }) =>
    histograms.length ? histograms.map((h) => `disk = ${h.labels.disk}\n${renderHistogram(h.histogram)}`).join('\n\n') : '(no block I/O completed)',
  count: ({ histograms }) => histograms.reduce((n, h) => n + h.histogram.count, 0),
};

const avg = (h: LabeledHistogram) => (h.histogram.count ? h.histogram.sum / h.histogram.count : 0);

const columns: Column<LabeledHistogram>[] = [
  { header: 'DISK', value: (h) => String(h.labels.disk) },
  { header: 'IOS', value: (h) => String(h.histogram.count), numeric: true },
  { header: 'AVG_us', value: (h) => avg(h).toFixed(0), numeric: true },
  { header: 'P50_us', value: (h) => `<${h.histogram.p50}`, numeric: true },
  { header: 'P90_us', value: (h) => `<${h.histogram.p90}`, numeric: true },
  { header: 'P99_us', value: (h) => `<${h.histogram.p99}`, numeric: true },
];
