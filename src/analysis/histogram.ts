// Quantiles and shares from log2 histograms (src/model/histogram.ts) for
// findings. A capture's own p50/p99 are bucket upper bounds (up to 2x off);
// here a quantile is interpolated linearly inside its bucket, and the count
// above a threshold takes the straddling bucket's share pro rata. Inputs come
// from stored JSON, so every field is checked, never trusted.
import type { HistogramBucket, Log2Histogram } from '../model/histogram.js';

const finite = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) ? n : 0);

/** The non-empty, well-formed buckets, ascending. */
export function bucketsOf(h: Partial<Log2Histogram> | undefined): HistogramBucket[] {
  if (!h || !Array.isArray(h.buckets)) return [];
  return h.buckets
    .filter((b): b is HistogramBucket => !!b && typeof b === 'object')
    .map((b) => ({ low: Math.max(0, finite(b.low)), high: Math.max(0, finite(b.high)), count: Math.max(0, finite(b.count)) }))
    .filter((b) => b.count > 0 && b.high > b.low)
    .sort((a, b) => a.low - b.low);
}

export const totalOf = (buckets: HistogramBucket[]): number => buckets.reduce((n, b) => n + b.count, 0);

/** The q-quantile (0..1), interpolated inside its bucket; 0 for an empty histogram. */
export function quantile(buckets: HistogramBucket[], q: number): number {
  const total = totalOf(buckets);
  if (!total) return 0;
  const rank = q * total;
  let seen = 0;
  for (const b of buckets) {
    if (seen + b.count >= rank) return b.low + ((rank - seen) / b.count) * (b.high - b.low);
    seen += b.count;
  }
  return buckets.at(-1)!.high;
}

/** How many values lie above `threshold` (the bucket holding it counts pro rata). */
export function countAbove(buckets: HistogramBucket[], threshold: number): number {
  let n = 0;
  for (const b of buckets) {
    if (b.low >= threshold) n += b.count;
    else if (b.high > threshold) n += (b.count * (b.high - threshold)) / (b.high - b.low);
  }
  return n;
}

/** The upper bound of everything at or below `threshold`: "the rest took under X". */
export function restUpperBound(buckets: HistogramBucket[], threshold: number): number {
  let bound = 0;
  for (const b of buckets) if (b.low < threshold) bound = Math.min(b.high, threshold);
  return bound;
}

/** The buckets holding values above `threshold`, for "3 took 0.5–1.05 s". */
export function rangeAbove(buckets: HistogramBucket[], threshold: number): { low: number; high: number } | undefined {
  const above = buckets.filter((b) => b.high > threshold);
  if (!above.length) return undefined;
  return { low: Math.max(threshold, above[0]!.low), high: above.at(-1)!.high };
}

/** p99 and the sample count of a stored histogram; undefined when it is empty. */
export function p99Sample(h: unknown): { value: number; samples: number } | undefined {
  const b = bucketsOf(h as Partial<Log2Histogram>);
  const samples = totalOf(b);
  return samples ? { value: quantile(b, 0.99), samples } : undefined;
}

/** The sum of all values of a stored histogram (its `sum`), else estimated from bucket midpoints. */
export function sumOf(histogram: Partial<Log2Histogram> | undefined): number {
  const sum = finite(histogram?.sum);
  if (sum > 0) return sum;
  return bucketsOf(histogram).reduce((n, b) => n + ((b.low + b.high) / 2) * b.count, 0);
}
