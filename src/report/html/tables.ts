// Sortable HTML tables. Numeric cells carry their sort key in data-v, worked
// out here from the displayed text ("<512", "1.25ms", "12.5%", "3,456"), so
// the page script only compares numbers. Rows past a cap are left out with a
// note that names the file holding them all.
import { humanNumber, humanValue } from '../../format/index.js';
import { esc } from './escape.js';
import { arrayFigures } from '../streamed-result.js';

export interface TableColumn {
  header: string;
  numeric?: boolean;
}

export interface TableOptions {
  caption?: string;
  /** Rows the data holds (when `rows` is a prefix of them). */
  total?: number;
  /** Where the rest is: "nodes/web-1/execsnoop.ndjson". */
  fullData?: string;
  className?: string;
}

const TIME_UNITS: Record<string, number> = { ns: 1e-3, us: 1, µs: 1, ms: 1e3, s: 1e6, m: 6e7, min: 6e7, h: 3.6e9 };
const SIZE_UNITS: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** The number a displayed cell sorts by; NaN for "-", "?", "" and text. */
export function sortKey(text: string): number {
  const m = /^\s*[<>≤≥~]?\s*(-?[\d,]*\.?\d+(?:e[-+]?\d+)?)\s*([a-zµ%]*)/i.exec(text);
  if (!m) return Number.NaN;
  const n = Number(m[1]!.replace(/,/g, ''));
  const unit = (m[2] ?? '').toLowerCase();
  if (!unit || unit === '%') return n;
  if (unit in TIME_UNITS) return n * TIME_UNITS[unit]!;
  if (unit in SIZE_UNITS) return n * SIZE_UNITS[unit]!;
  return n;
}

/** A cell: text (escaped here), or markup made by the caller (e.g. a link) with the text it sorts by. */
export type Cell =
  | string
  | { html: string; text: string; /** The raw value, shown on hover. */ title?: string; /** Sorts by this rather than the text. */ sort?: number };

const BARE_NUMBER = /^-?\d+(\.\d+)?$/;

/** A plain number in a numeric column, in people's units by the column's name (humanNumber), the raw one on hover. */
function humanCell(header: string, text: string): Cell {
  if (!BARE_NUMBER.test(text)) return text;
  const value = Number(text);
  const human = humanNumber(header, value);
  return { html: esc(human.text), text: human.text, sort: value, ...(human.raw ? { title: human.raw } : {}) };
}

/** A value of a result's or evidence's field as a cell: human units (humanValue), the raw value on hover. */
export function valueCell(field: string, value: unknown): Cell {
  const human = humanValue(field, value);
  return {
    html: esc(human.text),
    text: human.text,
    ...(human.raw ? { title: human.raw } : {}),
    ...(typeof value === 'number' && Number.isFinite(value) ? { sort: value } : {}),
  };
}

export function sortableTable(columns: TableColumn[], rows: Cell[][], options: TableOptions = {}): string {
  const out: string[] = [];
  const shown = rows.length;
  const total = options.total ?? shown;
  out.push(`<div class="table-wrap"><table class="sortable${options.className ? ` ${options.className}` : ''}">`);
  if (options.caption) out.push(`<caption>${esc(options.caption)}</caption>`);
  out.push(`<thead><tr>${columns.map((c) => `<th${c.numeric ? ' class="num"' : ''} title="sort">${esc(c.header)}</th>`).join('')}</tr></thead><tbody>`);
  for (const row of rows) {
    let tr = '<tr>';
    for (let i = 0; i < columns.length; i++) {
      const given = row[i] ?? '';
      const cell = columns[i]!.numeric && typeof given === 'string' ? humanCell(columns[i]!.header, given) : given;
      const text = typeof cell === 'string' ? cell : cell.text;
      const html = typeof cell === 'string' ? esc(cell) : cell.html;
      const title = typeof cell !== 'string' && cell.title ? ` title="${esc(cell.title)}"` : '';
      if (columns[i]!.numeric) {
        const key = typeof cell !== 'string' && cell.sort !== undefined ? cell.sort : sortKey(text);
        tr += `<td class="num"${Number.isFinite(key) ? ` data-v="${key}"` : ''}${title}>${html}</td>`;
      } else tr += `<td${title}>${html}</td>`;
    }
    out.push(`${tr}</tr>`);
  }
  if (!shown) out.push(`<tr><td class="muted" colspan="${Math.max(1, columns.length)}">(none)</td></tr>`);
  out.push('</tbody></table></div>');
  if (total > shown) {
    out.push(
      `<p class="note">Showing the first ${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows${options.fullData ? `; all of them are in <code>${esc(options.fullData)}</code>` : ''}.</p>`,
    );
  }
  return out.join('');
}

/** A table from plain objects: columns from the keys of the first rows, numbers right-aligned in people's units (raw on hover), nested values as text. */
export function objectTable(items: unknown[], options: TableOptions & { limit?: number } = {}): string {
  const limit = options.limit ?? 200;
  const objects = items.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x));
  const keys: string[] = [];
  for (const o of objects.slice(0, 50)) for (const k of Object.keys(o)) if (!keys.includes(k) && keys.length < 16) keys.push(k);
  const numeric = new Set(keys.filter((k) => objects.slice(0, 50).every((o) => o[k] === undefined || typeof o[k] === 'number')));
  const rows = objects.slice(0, limit).map((o) => keys.map((k) => valueCell(k, o[k])));
  return sortableTable(
    keys.map((k) => ({ header: k, numeric: numeric.has(k) })),
    rows,
    { ...options, total: arrayFigures(items).objects },
  );
}

export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.join(' ');
  const json = JSON.stringify(value);
  return json.length > 300 ? `${json.slice(0, 297)}...` : json;
}
