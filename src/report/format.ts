// Number and time formatting shared by summary.md and report.html.

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

export function fmtBytes(n: number | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** A value in a histogram unit, scaled for people: 1536 µs → "1.5 ms". */
export function fmtUnit(value: number, unit: string): string {
  const u = unit === 'us' || unit === 'usecs' || unit === 'microseconds' ? 'µs' : unit === 'nsecs' || unit === 'nanoseconds' ? 'ns' : unit === 'msecs' || unit === 'milliseconds' ? 'ms' : unit;
  const scales: Record<string, [number, string][]> = {
    ns: [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs'], [1, 'ns']],
    'µs': [[1e6, 's'], [1e3, 'ms'], [1, 'µs']],
    ms: [[1e3, 's'], [1, 'ms']],
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

/** Where a run came from (RunPlan.origin): "alertmanager alert 4f2a…", "chat #ops", "schedule nightly"; its link, if any. */
export function describeOrigin(origin: Record<string, unknown> | undefined): { text: string; url?: string } | undefined {
  if (!origin || typeof origin !== 'object') return undefined;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const url = str(origin.url);
  const link = url && /^https?:\/\//i.test(url) ? { url } : {};
  if (str(origin.tool)) return { text: `${str(origin.tool)} alert ${str(origin.alert) ?? '?'}${str(origin.rule) ? ` (rule ${str(origin.rule)})` : ''}`, ...link };
  if (str(origin.schedule)) return { text: `schedule ${str(origin.schedule)}` };
  if (str(origin.channel) !== undefined || str(origin.user) !== undefined) return { text: `chat: ${str(origin.user) ?? '?'} in #${str(origin.channel) ?? '?'}: ${str(origin.command) ?? ''}`.trim() };
  return undefined;
}

/** "03:00 UTC" on the day of `relativeTo`, "2026-11-23 03:00 UTC" otherwise. */
export function fmtClock(iso: string, relativeTo: string): string {
  const day = iso.slice(0, 10);
  return `${day === relativeTo.slice(0, 10) ? '' : `${day} `}${iso.slice(11, 16)} UTC`;
}

/** A target spec for people: "comm checkout, port 8080", or "all processes". */
export function describeTarget(target: Record<string, unknown> | undefined): string {
  const parts = Object.entries(target ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') : String(v)}`);
  return parts.length ? parts.join(', ') : 'all processes';
}
