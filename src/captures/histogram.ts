// struct sherlock_hist (bpf/common/sherlock.h) in user space: decode,
// merge, percentiles, and the bcc-style text rendering people know.
import type { HistogramBucket, Log2Histogram } from '../model/histogram.js';
import { recordLayout } from './records.js';

export type { HistogramBucket, Log2Histogram };

export const HIST_SLOTS = 32;
/** struct sherlock_hist: SHERLOCK_HIST_SLOTS u64 slots, then count and sum. */
export const histLayout = recordLayout(
  'sherlock_hist',
  (HIST_SLOTS + 2) * 8,
  { slots: 0, count: HIST_SLOTS * 8, sum: HIST_SLOTS * 8 + 8 },
  { slots: HIST_SLOTS },
);
export const HIST_SIZE = histLayout.size;

/** Decodes one struct sherlock_hist (or the sum of per-CPU copies). */
export function decodeHistogram(unit: string, ...copies: Buffer[]): Log2Histogram {
  const slots = new Array<number>(HIST_SLOTS).fill(0);
  let count = 0;
  let sum = 0;
  for (const data of copies) {
    const O = histLayout.offsets;
    for (let i = 0; i < HIST_SLOTS; i++) slots[i]! += Number(data.readBigUInt64LE(O.slots + i * 8));
    count += Number(data.readBigUInt64LE(O.count));
    sum += Number(data.readBigUInt64LE(O.sum));
  }
  return fromSlots(unit, slots, count, sum);
}

export function fromSlots(unit: string, slots: number[], count: number, sum: number): Log2Histogram {
  const buckets = slots.flatMap((n, i) => (n ? [{ low: i === 0 ? 0 : 2 ** i, high: 2 ** (i + 1), count: n }] : []));
  const total = buckets.reduce((a, b) => a + b.count, 0);
  const quantile = (q: number) => {
    let seen = 0;
    for (const b of buckets) {
      seen += b.count;
      if (seen >= q * total) return b.high;
    }
    return 0;
  };
  return { unit, count, sum, buckets, p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99) };
}

/** Adds histograms of the same unit (e.g. per-destination into overall). */
export function mergeHistograms(unit: string, histograms: Log2Histogram[]): Log2Histogram {
  const slots = new Array<number>(HIST_SLOTS).fill(0);
  for (const h of histograms) for (const b of h.buckets) slots[Math.round(Math.log2(b.high)) - 1]! += b.count;
  return fromSlots(
    unit,
    slots,
    histograms.reduce((a, h) => a + h.count, 0),
    histograms.reduce((a, h) => a + h.sum, 0),
  );
}

/** The classic text form: `low -> high : count |*****|`. */
export function renderHistogram(h: Log2Histogram, width = 40): string {
  if (!h.buckets.length) return `(no ${h.unit} samples)`;
  const max = Math.max(...h.buckets.map((b) => b.count));
  const label = (b: HistogramBucket) => `${b.low} -> ${b.high - 1}`;
  const labelWidth = Math.max(...h.buckets.map((b) => label(b).length), h.unit.length + 2);
  const countWidth = Math.max(5, ...h.buckets.map((b) => String(b.count).length));
  const lines = h.buckets.map((b) => {
    const bar = '*'.repeat(Math.max(1, Math.round((b.count / max) * width)));
    return `${label(b).padStart(labelWidth)} : ${String(b.count).padStart(countWidth)} |${bar.padEnd(width)}|`;
  });
  return [`${h.unit.padStart(labelWidth)} : ${'count'.padStart(countWidth)}`, ...lines].join('\n');
}
