// bpf_ktime_get_ns() is CLOCK_MONOTONIC, like process.hrtime.bigint(); these
// map it to wall-clock time for records people read.
export const monoNow = (): bigint => process.hrtime.bigint();

/** A converter from kernel monotonic ns to epoch ms, with the offset taken once. */
export function kernelClock(): (tsNs: bigint) => number {
  const offsetNs = BigInt(Date.now()) * 1_000_000n - monoNow();
  return (tsNs) => Number((tsNs + offsetNs) / 1000n) / 1000;
}

/** Milliseconds since `start` (from monoNow), with fractions. */
export function elapsedMs(start: bigint): number {
  return Number(monoNow() - start) / 1e6;
}
