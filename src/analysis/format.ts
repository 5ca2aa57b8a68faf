// How findings print numbers: short, with units a person reads at a glance.

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

/** "nginx (pid 412)", or "pid 412", or "an unknown process". */
export function processLabel(comm: unknown, pid: unknown): string {
  const name = typeof comm === 'string' && comm ? comm : '';
  const id = typeof pid === 'number' && pid > 0 ? pid : 0;
  if (name && id) return `${name} (pid ${id})`;
  if (name) return name;
  if (id) return `pid ${id}`;
  return 'an unknown process';
}

/** "a", "a and b", "a, b and 3 more". */
export function listText(items: string[], max = 3): string {
  if (items.length <= 1) return items[0] ?? '';
  if (items.length <= max) return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  return `${items.slice(0, max - 1).join(', ')} and ${items.length - max + 1} more`;
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${fmtCount(n)} ${n === 1 ? one : many}`;

/** Three decimals, for evidence numbers. */
export const round = (n: number) => Math.round(n * 1000) / 1000;

export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
