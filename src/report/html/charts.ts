// Log2 histograms drawn as inline SVG: one row per power-of-two bucket from the
// first non-empty to the last (empty ones in between shown, as bcc prints
// them), a bar proportional to the count, the count beside it, and the
// buckets holding p50/p90/p99 marked. Buckets past p90 are drawn in the tail
// colour so a bimodal or long-tailed latency stands out at a glance.
import type { Log2Histogram } from '../../model/histogram.js';
import { fmtInt, fmtUnit } from '../../format/index.js';
import { esc } from './escape.js';

const WIDTH = 600;
const LABEL_W = 150;
const BAR_MAX = 300;
const ROW = 17;
const TOP = 6;

function slotOf(low: number): number {
  return low <= 0 ? 0 : Math.round(Math.log2(low));
}

/** Summary line values: count, average, percentiles, in the histogram's unit scaled for people. */
export function histogramStats(h: Log2Histogram): string {
  if (!h.count) return 'no samples';
  const avg = h.count ? h.sum / h.count : 0;
  return `${fmtInt(h.count)} samples · avg ${fmtUnit(avg, h.unit)} · p50 < ${fmtUnit(h.p50, h.unit)} · p90 < ${fmtUnit(h.p90, h.unit)} · p99 < ${fmtUnit(h.p99, h.unit)}`;
}

export function histogramSvg(h: Log2Histogram, title: string): string {
  const buckets = [...(h.buckets ?? [])].filter((b) => b && b.count > 0).sort((a, b) => a.low - b.low);
  if (!buckets.length) return `<p class="muted">${esc(title)}: no samples</p>`;
  const first = slotOf(buckets[0]!.low);
  const last = slotOf(buckets.at(-1)!.low);
  const bySlot = new Map(buckets.map((b) => [slotOf(b.low), b]));
  const rows: { low: number; high: number; count: number }[] = [];
  for (let s = first; s <= last && rows.length < 64; s++) rows.push(bySlot.get(s) ?? { low: s === 0 ? 0 : 2 ** s, high: 2 ** (s + 1), count: 0 });
  const max = Math.max(...rows.map((r) => r.count), 1);
  const height = TOP * 2 + rows.length * ROW;
  const marks = new Map<number, string[]>();
  for (const [name, value] of [
    ['p50', h.p50],
    ['p90', h.p90],
    ['p99', h.p99],
  ] as const) {
    const row = rows.findIndex((r) => r.high === value);
    if (row >= 0) marks.set(row, [...(marks.get(row) ?? []), name]);
  }
  const p90Row = rows.findIndex((r) => r.high === h.p90);
  const out: string[] = [];
  out.push(
    `<svg class="hist" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(`${title}: ${histogramStats(h)}`)}">`,
  );
  out.push(`<title>${esc(`${title}: ${histogramStats(h)}`)}</title>`);
  rows.forEach((r, i) => {
    const y = TOP + i * ROW;
    const w = r.count ? Math.max(1, Math.round((r.count / max) * BAR_MAX * 10) / 10) : 0;
    const tail = p90Row >= 0 && i > p90Row;
    const label = `${fmtUnit(r.low, h.unit)} – ${fmtUnit(r.high, h.unit)}`;
    const pct = h.count ? ` (${((r.count / h.count) * 100).toFixed(1)}%)` : '';
    out.push(
      `<g class="row"><title>${esc(`${label}: ${fmtInt(r.count)}${pct}`)}</title>` +
        `<text class="lbl" x="${LABEL_W - 8}" y="${y + 12}" text-anchor="end">${esc(label)}</text>` +
        `<rect class="track" x="${LABEL_W}" y="${y + 2}" width="${BAR_MAX}" height="${ROW - 4}"/>` +
        (w ? `<rect class="${tail ? 'bar tail' : 'bar'}" x="${LABEL_W}" y="${y + 2}" width="${w}" height="${ROW - 4}"/>` : '') +
        `<text class="cnt" x="${LABEL_W + BAR_MAX + 8}" y="${y + 12}">${esc(fmtInt(r.count))}${marks.has(i) ? ` ◂ ${marks.get(i)!.join(' ')}` : ''}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}
