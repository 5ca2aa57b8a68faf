// Sherlock's own flame graph renderer: one self-contained SVG file. Frames
// merge by name along the path (tree.ts); a frame's width is its share of the
// total; the process (comm) is the first level above "all". Classic layout
// grows upwards from the root, icicle hangs down from it. Colours tell frame
// kinds apart (user warm, kernel blue, JIT green, unknown grey), shaded by a
// hash of the name so neighbours differ. Every frame has a <title> tooltip
// (value and percent of total). A small inline script (optional) zooms on
// click, shows the hovered frame below the graph and searches by regex.
import { buildFlameTree, type FlameNode, type NodeKind } from './tree.js';
import type { StackProfile } from './types.js';

export interface FlameGraphOptions {
  title?: string;
  /** Image width in px (default 1200). */
  width?: number;
  /** Height of one frame in px (default 16). */
  frameHeight?: number;
  /** 'flame': root at the bottom (default); 'icicle': root at the top. */
  layout?: 'flame' | 'icicle';
  /** First level "comm-pid" instead of "comm". */
  includePid?: boolean;
  /** Frames narrower than this (px) are left out (default 0.1). */
  minFrameWidth?: number;
  /** Sibling order: by name (default; stable across runs) or by value, largest first. */
  sort?: 'name' | 'value';
  /** Inline zoom/search script (default true). Without it the SVG is static but complete. */
  interactive?: boolean;
}

const PAD_X = 10;
const HEADER = 66;
const FOOTER = 26;
const FONT_SIZE = 11;
/** Average advance of a monospace glyph, as a fraction of the font size. */
const CHAR_WIDTH = FONT_SIZE * 0.62;

// ---- XML text -----------------------------------------------------------

/** Escapes text for XML content and attribute values, dropping characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  // UTF-16 code units on purpose: lone surrogates are what must go.
  const legal = text.replace(
    // eslint-disable-next-line no-misleading-character-class
    /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\ud800-\udbff\udc00-\udfff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '',
  );
  return legal.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** The name cut to fit `width` px, ".." marking the cut; '' when not even 3 characters fit. */
export function fitText(name: string, width: number): string {
  const max = Math.floor((width - 6) / CHAR_WIDTH);
  if (max < 3) return '';
  return name.length <= max ? name : `${name.slice(0, max - 2)}..`;
}

// ---- colours ------------------------------------------------------------

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hslHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** [hue from, hue to, saturation, lightness from, lightness to] per kind. */
const PALETTES: Record<NodeKind, [number, number, number, number, number]> = {
  user: [4, 46, 0.82, 0.56, 0.66],
  kernel: [196, 226, 0.62, 0.6, 0.72],
  jit: [88, 138, 0.52, 0.52, 0.64],
  unknown: [0, 0, 0, 0.66, 0.76],
  process: [262, 292, 0.35, 0.72, 0.8],
  root: [0, 0, 0, 0.8, 0.8],
};

export function frameColor(kind: NodeKind, name: string): string {
  const [h0, h1, s, l0, l1] = PALETTES[kind];
  const h = hash32(name);
  const u = (h & 0xffff) / 0xffff;
  const v = (h >>> 16) / 0xffff;
  return hslHex(h0 + (h1 - h0) * u, s, l0 + (l1 - l0) * v);
}

// ---- numbers ------------------------------------------------------------

function unitLabel(profile: Pick<StackProfile, 'sampleType'>): string {
  const { type, unit } = profile.sampleType;
  if (unit === 'count') return /sample/i.test(type) ? 'samples' : type;
  if (unit === 'microseconds') return 'µs';
  if (unit === 'nanoseconds') return 'ns';
  if (unit === 'milliseconds') return 'ms';
  return unit;
}

const fmtValue = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2));
/** "1 sample", "3 samples", "12 µs". */
const fmtAmount = (v: number, units: string) => `${fmtValue(v)} ${v === 1 && units === 'samples' ? 'sample' : units}`;
const fmtPct = (v: number, total: number) => `${((v / total) * 100).toFixed(2)}%`;

// ---- layout -------------------------------------------------------------

/** A frame as drawn: what the SVG shows of it and where. */
export interface PlacedFrame {
  node: Pick<FlameNode, 'name' | 'kind' | 'value' | 'file' | 'inlined'>;
  depth: number;
  /** Left edge and width in px inside the plot (0 = left padding). */
  x: number;
  w: number;
}

type Placed = PlacedFrame & { node: FlameNode };

function place(root: FlameNode, plotWidth: number, minWidth: number, sort: 'name' | 'value'): Placed[] {
  const scale = root.value > 0 ? plotWidth / root.value : 0;
  const out: Placed[] = [];
  const stack: Placed[] = [{ node: root, depth: 0, x: 0, w: root.value * scale }];
  while (stack.length) {
    const p = stack.pop() as Placed;
    out.push(p);
    const children = [...p.node.children.values()];
    if (sort === 'value') children.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
    else children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let x = p.x;
    const next: Placed[] = [];
    for (const c of children) {
      const w = c.value * scale;
      if (w >= minWidth) next.push({ node: c, depth: p.depth + 1, x, w });
      x += w;
    }
    for (let i = next.length - 1; i >= 0; i--) stack.push(next[i] as Placed); // left first out
  }
  return out;
}

/** Distinct stacks: tree nodes where at least one stack ends. */
function placedStacks(root: FlameNode): number {
  let n = 0;
  const stack = [root];
  while (stack.length) {
    const node = stack.pop() as FlameNode;
    if (node.self > 0) n++;
    for (const c of node.children.values()) stack.push(c);
  }
  return n;
}

// ---- rendering ----------------------------------------------------------

const round = (n: number) => Math.round(n * 100) / 100;

/** Width in px of the plot (the root's frame) in an image `width` px wide. */
export const plotWidthOf = (width = 1200): number => Math.max(200, width) - 2 * PAD_X;

export function toFlameGraphSvg(profile: StackProfile, options: FlameGraphOptions = {}): string {
  const root = buildFlameTree(profile, { includePid: options.includePid ?? false });
  const placed = place(root, plotWidthOf(options.width), options.minFrameWidth ?? 0.1, options.sort ?? 'name');
  return placedFramesSvg(placed, { total: root.value, stackCount: placedStacks(root), sampleType: profile.sampleType }, options);
}

/** What the SVG says of the whole profile besides its frames. */
export interface FlameTotals {
  total: number;
  /** Distinct stacks (tree nodes where one ends). */
  stackCount: number;
  sampleType: StackProfile['sampleType'];
}

/** The SVG of frames already laid out (by place() here, or a CompactFlameTree), root first. */
export function placedFramesSvg(placed: PlacedFrame[], totals: FlameTotals, options: FlameGraphOptions = {}): string {
  const width = Math.max(200, options.width ?? 1200);
  const frameHeight = Math.max(8, options.frameHeight ?? 16);
  const layout = options.layout ?? 'flame';
  const plotWidth = width - 2 * PAD_X;
  const { total } = totals;
  const profile = { sampleType: totals.sampleType };
  // Sized to what is drawn: frames too narrow to draw leave no empty rows above the graph.
  let depth = 0;
  for (const p of placed) if (p.depth > depth) depth = p.depth;
  const height = HEADER + (depth + 1) * frameHeight + FOOTER;
  const units = unitLabel(profile);
  const title = options.title ?? `Flame graph: ${profile.sampleType.type}`;
  const yOf = (d: number) => (layout === 'icicle' ? HEADER + d * frameHeight : HEADER + (depth - d) * frameHeight);

  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8" standalone="no"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT_SIZE}">`,
  );
  out.push(
    '<style>text{fill:#222}.f rect{stroke:#fff;stroke-width:0.4}.f:hover rect{stroke:#000;stroke-width:0.8}.f text{pointer-events:none}' +
      '.f{cursor:pointer}.btn{cursor:pointer;fill:#2050a0}.legend text{font-size:10px}</style>',
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fbfbf8"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-family="sans-serif">${escapeXml(title)}</text>`);
  const { stackCount } = totals;
  out.push(
    `<text x="${width / 2}" y="40" text-anchor="middle">${escapeXml(
      `total ${fmtAmount(total, units)}${units === 'samples' ? '' : ` ${profile.sampleType.type}`} in ${stackCount} ${stackCount === 1 ? 'stack' : 'stacks'}`,
    )}</text>`,
  );
  // Legend
  out.push('<g class="legend">');
  const kinds: [NodeKind, string][] = [
    ['user', 'user'],
    ['kernel', 'kernel'],
    ['jit', 'JIT'],
    ['unknown', 'unknown'],
    ['process', 'process'],
  ];
  kinds.forEach(([kind, label], i) => {
    const x = PAD_X + i * 78;
    out.push(`<rect x="${x}" y="48" width="10" height="10" fill="${frameColor(kind, label)}"/><text x="${x + 14}" y="57">${label}</text>`);
  });
  out.push('</g>');
  if (options.interactive ?? true) {
    out.push(`<text id="reset" class="btn" x="${width - PAD_X - 180}" y="57">Reset zoom</text>`);
    out.push(`<text id="search" class="btn" x="${width - PAD_X - 80}" y="57">Search</text>`);
  }

  out.push('<g id="frames">');
  for (const p of placed) {
    const { node } = p;
    const x = round(PAD_X + p.x);
    const w = round(p.w);
    const y = yOf(p.depth);
    const where = [node.inlined ? 'inlined' : '', node.file ?? ''].filter(Boolean).join(', ');
    const tip = `${node.name}${where ? ` [${where}]` : ''} (${fmtAmount(node.value, units)}, ${total > 0 ? fmtPct(node.value, total) : '0%'})`;
    const name = escapeXml(node.name);
    out.push(
      `<g class="f" data-d="${p.depth}" data-x="${round(p.x)}" data-w="${w}" data-n="${name}">` +
        `<title>${escapeXml(tip)}</title>` +
        `<rect x="${x}" y="${y}" width="${w}" height="${frameHeight - 1}" rx="1.5" fill="${frameColor(node.kind, node.name)}"/>` +
        `<text x="${round(x + 3)}" y="${y + frameHeight - 5}">${escapeXml(fitText(node.name, p.w))}</text></g>`,
    );
  }
  out.push('</g>');
  out.push(`<text id="details" x="${PAD_X}" y="${height - 9}"> </text>`);
  if (options.interactive ?? true) out.push(`<script type="text/ecmascript"><![CDATA[${script(plotWidth)}]]></script>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The inline viewer: zoom on click, hover details, regex search. Written for this file; no "]]>" inside. */
function script(plotWidth: number): string {
  return `
(function () {
  var W = ${plotWidth}, X0 = ${PAD_X}, CW = ${CHAR_WIDTH};
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details');
  function num(g, a) { return parseFloat(g.getAttribute(a)); }
  function fit(g, w) {
    var n = g.getAttribute('data-n'), m = Math.floor((w - 6) / CW);
    g.querySelector('text').textContent = m < 3 ? '' : (n.length <= m ? n : n.slice(0, m - 2) + '..');
  }
  function zoom(target) {
    var tx = num(target, 'data-x'), tw = num(target, 'data-w'), td = num(target, 'data-d'), s = W / tw, e = 0.001;
    frames.forEach(function (g) {
      var x = num(g, 'data-x'), w = num(g, 'data-w'), d = num(g, 'data-d'), nx, nw;
      if (d < td && x <= tx + e && x + w >= tx + tw - e) { nx = 0; nw = W; g.style.opacity = '0.55'; }
      else if (d >= td && x >= tx - e && x + w <= tx + tw + e) { nx = (x - tx) * s; nw = w * s; g.style.opacity = ''; }
      else { g.style.display = 'none'; return; }
      g.style.display = '';
      g.querySelector('rect').setAttribute('x', X0 + nx);
      g.querySelector('rect').setAttribute('width', nw);
      g.querySelector('text').setAttribute('x', X0 + nx + 3);
      fit(g, nw);
    });
  }
  function search() {
    var q = window.prompt('Search frames (regular expression)', '');
    var re = null, spans = [];
    if (q) { try { re = new RegExp(q); } catch (err) { details.textContent = 'bad expression: ' + err.message; return; } }
    frames.forEach(function (g) {
      var r = g.querySelector('rect');
      if (!r.hasAttribute('data-c')) r.setAttribute('data-c', r.getAttribute('fill'));
      var hit = re !== null && re.test(g.getAttribute('data-n'));
      r.setAttribute('fill', hit ? '#d050e0' : r.getAttribute('data-c'));
      if (hit) spans.push([num(g, 'data-x'), num(g, 'data-x') + num(g, 'data-w')]);
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var covered = 0, end = -1;
    spans.forEach(function (s) {
      if (s[1] <= end) return;
      covered += s[1] - Math.max(s[0], end);
      end = s[1];
    });
    details.textContent = re ? 'matched ' + (100 * covered / W).toFixed(2) + '% of the total' : ' ';
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  var reset = document.getElementById('reset'), find = document.getElementById('search');
  if (reset && frames.length) reset.addEventListener('click', function () { zoom(frames[0]); });
  if (find) find.addEventListener('click', search);
})();
`;
}
