// Numbers with units, as people read them at a glance: one set for findings,
// reports, the CLI and capture tables. A ground floor: imports nothing of Sherlock's.

/** Microseconds as "850 µs", "212 ms", "1.03 s". */
export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return '?';
  if (us >= 10_000_000) return `${(us / 1e6).toFixed(0)} s`;
  if (us >= 1_000_000) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 100_000) return `${(us / 1000).toFixed(0)} ms`;
  if (us >= 1000) return `${+(us / 1000).toFixed(1)} ms`;
  return `${Math.round(us)} µs`;
}

/** Milliseconds as fmtUs does. */
export const fmtMs = (ms: number): string => fmtUs(ms * 1000);

/** Seconds of a window: "6 s", "2.5 s", "2 min". */
export function fmtSeconds(seconds: number): string {
  if (seconds >= 120) return `${+(seconds / 60).toFixed(1)} min`;
  return `${+seconds.toFixed(seconds >= 10 ? 0 : 1)} s`;
}

/** Bytes as "512 B", "1.5 KiB", "300 MiB". */
export function fmtBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit ? +value.toFixed(value >= 100 ? 0 : 1) : Math.round(value)} ${units[unit]}`;
}

export const fmtPct = (share: number): string => `${+(share * 100).toFixed(share >= 0.1 ? 0 : 1)}%`;

/** 1234567 → "1,234,567". */
export const fmtCount = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A rate per second: "80/s", "0.5/s". */
export const fmtRate = (perSecond: number): string => `${+perSecond.toFixed(perSecond >= 10 ? 0 : 1)}/s`;

export function fmtInt(n: number | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** Nanoseconds of CPU as "0.42 ms", "12.3 ms", "1.25 s". */
export function fmtCpuNs(ns: number | undefined): string {
  if (typeof ns !== 'number' || !Number.isFinite(ns)) return '-';
  const ms = ns / 1e6;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtDurationMs(ms: number | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A value in a histogram unit, scaled for people: 1536 µs → "1.5 ms". */
export function fmtUnit(value: number, unit: string): string {
  const u =
    unit === 'us' || unit === 'usecs' || unit === 'microseconds'
      ? 'µs'
      : unit === 'nsecs' || unit === 'nanoseconds'
        ? 'ns'
        : unit === 'msecs' || unit === 'milliseconds'
          ? 'ms'
          : unit;
  const scales: Record<string, [number, string][]> = {
    ns: [
      [1e9, 's'],
      [1e6, 'ms'],
      [1e3, 'µs'],
      [1, 'ns'],
    ],
    µs: [
      [1e6, 's'],
      [1e3, 'ms'],
      [1, 'µs'],
    ],
    ms: [
      [1e3, 's'],
      [1, 'ms'],
    ],
  };
  const table = scales[u];
  if (!table) return `${compact(value)} ${unit}`;
  for (const [factor, name] of table) {
    if (Math.abs(value) >= factor) return `${compact(value / factor)} ${name}`;
  }
  return `${compact(value)} ${u}`;
}

function compact(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toFixed(2).replace(/\.?0+$/, '');
}

/** "03:00 UTC" on the day of `relativeTo`, "2026-11-23 03:00 UTC" otherwise. */
export function fmtClock(iso: string, relativeTo: string): string {
  const day = iso.slice(0, 10);
  return `${day === relativeTo.slice(0, 10) ? '' : `${day} `}${iso.slice(11, 16)} UTC`;
}
