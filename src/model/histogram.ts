// A log2 latency/size histogram as stored in results: captures decode it
// (src/captures/histogram.ts), analysis and the report read it.
export interface HistogramBucket {
  /** Inclusive lower and exclusive upper bound, in the histogram's unit. */
  low: number;
  high: number;
  count: number;
}

export interface Log2Histogram {
  unit: string;
  count: number;
  sum: number;
  /** Non-empty buckets only, ascending. */
  buckets: HistogramBucket[];
  /** Upper bound of the bucket holding each quantile (log2 resolution). */
  p50: number;
  p90: number;
  p99: number;
}
