// Printing for the benchmarks: statistics, units, aligned tables. The machine
// is shared and noisy, so benchmarks print figures and ratios and never
// assert on time; "target met" lines are information, not a pass/fail.

export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Linear interpolation between closest ranks; p in [0, 100]. NaN for []. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (rank - lo);
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);
export const min = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : Number.NaN);
export const max = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : Number.NaN);

/** Milliseconds since a process.hrtime.bigint() reading. */
export const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** Events per second as "1.23 M/s", "456.7 k/s". */
export function fmtRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  if (perSecond >= 999_950) return `${(perSecond / 1e6).toFixed(2)} M/s`; // not "1000.0 k/s"
  if (perSecond >= 999.5) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${perSecond.toFixed(0)} /s`;
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(3)}×` : '-';
}

export function fmtMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Decimal megabytes (10^6), as targets are usually written. */
export function fmtMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function fmtPct(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : '-';
}

export function header(name: string, title: string, target: string): void {
  const rule = '='.repeat(78);
  console.log(`\n${rule}\n${name}: ${title}\n  target: ${target}\n${rule}`);
}

export function section(title: string): void {
  console.log(`\n  -- ${title}`);
}

/** "  label ........ value", labels padded to one column. */
export function kv(label: string, value: string): void {
  console.log(`  ${label.padEnd(38, ' ')} ${value}`);
}

export function note(text: string): void {
  console.log(`  ${text}`);
}

/** Prints rows under headers; `right` lists the right-aligned (numeric) columns. */
export function table(headers: string[], rows: string[][], right: ReadonlySet<number> = new Set()): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    '  ' +
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(fmt(headers));
  console.log(fmt(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(fmt(row));
}

/** All columns but the first right-aligned (numbers). */
export const numericColumns = (count: number): Set<number> => new Set(Array.from({ length: count - 1 }, (_, i) => i + 1));

export function verdict(met: boolean, detail: string): void {
  kv('target met (informational)', `${met ? 'YES' : 'NO'} — ${detail}`);
}

/** One traced/untraced pair; `order` says which ran first. */
export interface Pair<U, T> {
  index: number;
  order: 'U,T' | 'T,U';
  untraced: U;
  traced: T;
}

/** Runs `count` pairs, alternating which side goes first, so drift on a shared machine hits both. */
export async function alternatingPairs<U, T>(count: number, untraced: () => Promise<U>, traced: () => Promise<T>): Promise<Pair<U, T>[]> {
  const pairs: Pair<U, T>[] = [];
  for (let index = 0; index < count; index++) {
    if (index % 2 === 0) {
      const u = await untraced();
      pairs.push({ index, order: 'U,T', untraced: u, traced: await traced() });
    } else {
      const t = await traced();
      pairs.push({ index, order: 'T,U', untraced: await untraced(), traced: t });
    }
  }
  return pairs;
}
