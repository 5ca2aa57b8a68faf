// A stacks-kind result (profile, offcputime) in the page: the flame graph from
// src/stacks/flamegraph.ts without its own script (the page script zooms,
// searches and shows details, once per graph), the heaviest functions, and
// the capture's own stack table.
import { stackProfileOf } from '../../captures/stack-family/outputs.js';
import { topFunctions, type StackData } from '../../captures/stack-family/stack-capture.js';
import { toFlameGraphSvg } from '../../stacks/flamegraph.js';
import { buildFlameTree, type FlameNode } from '../../stacks/tree.js';
import { fmtInt, fmtUnit } from '../../format/index.js';
import { esc } from './escape.js';
import { sortableTable } from './tables.js';

/**
 * Frames of all the flame graphs of one page together (~300 bytes of SVG
 * each; a graph's two views share its part): a typical run's page stays under
 * 2 MB, a 50-node run's draws 800 per graph. The narrowest frames go first; the bundle's own flame graph SVG and
 * pprof keep every one.
 */
export const PAGE_FRAME_BUDGET = 40_000;
/** Whatever the run's size, a graph may keep this many frames, and needs no more than the most. */
export const MIN_GRAPH_FRAMES = 800;
export const MAX_GRAPH_FRAMES = 4000;
/** The narrowest frame drawn when nothing has to go (as the flame graph SVG itself). */
const BASE_MIN_WIDTH = 0.1;
const PLOT_WIDTH = 1180;
export const TOP_FUNCTIONS = 30;

/** Frames each of `graphs` flame graphs on one page may keep. */
export function graphFrameBudget(graphs: number): number {
  return Math.round(Math.min(MAX_GRAPH_FRAMES, Math.max(MIN_GRAPH_FRAMES, PAGE_FRAME_BUDGET / Math.max(1, graphs))));
}

/**
 * The minimum frame width (px of the 1200 px graph) that keeps at most
 * `budget` frames: 0.1 when all fit, else just over the width of the first
 * frame that does not (ties at the boundary go together).
 */
export function minFrameWidthFor(data: StackData, budget = MIN_GRAPH_FRAMES): number {
  const root = buildFlameTree(stackProfileOf(data), { includePid: true });
  if (!(root.value > 0)) return BASE_MIN_WIDTH;
  const scale = PLOT_WIDTH / root.value;
  const widths: number[] = [];
  const stack: FlameNode[] = [root];
  while (stack.length) {
    const node = stack.pop()!;
    const w = node.value * scale;
    if (w < BASE_MIN_WIDTH) continue; // neither drawn nor anything above it
    widths.push(w);
    for (const c of node.children.values()) stack.push(c);
  }
  if (widths.length <= budget) return BASE_MIN_WIDTH;
  widths.sort((a, b) => b - a);
  const cut = widths[budget]!; // the widest frame that does not fit
  return Math.round(cut * 1.0001 * 1e4 + 1) / 1e4;
}

function titleOf(data: StackData & { capture?: string; target?: string }): string {
  const what = data.sampleType?.type === 'off-cpu' ? 'Off-CPU time' : 'CPU samples';
  const rate = data.periodNs ? ` at ${Math.round(1e9 / data.periodNs)} Hz` : '';
  return [data.capture, `${what}${rate}`, data.target].filter(Boolean).join(' · ');
}

export type FlameView = 'top-down' | 'bottom-up';

/** The same samples with each stack read from its leaf: the functions where the time is spent come first, their callers below. */
function bottomUp(data: StackData): StackData {
  return { ...data, stacks: (data.stacks ?? []).map((s) => ({ ...s, frames: [...s.frames].reverse() })) };
}

/**
 * The flame graph SVG made to live inside an HTML page: no XML declaration,
 * no ids, scaled to the width, drawn from the top (root first, as people
 * read) and as tall as its deepest drawn frame.
 */
export function inlineFlameSvg(
  data: StackData & { capture?: string; target?: string },
  minFrameWidth = minFrameWidthFor(data),
  view: FlameView = 'top-down',
): string {
  const svg = toFlameGraphSvg(stackProfileOf(view === 'bottom-up' ? bottomUp(data) : data), {
    includePid: true,
    interactive: false,
    layout: 'icicle',
    title: `${titleOf(data)}${view === 'bottom-up' ? ' · bottom-up (callees first)' : ''}`,
    minFrameWidth,
  });
  return svg
    .replace(/^<\?xml[^>]*\?>\s*/, '')
    .replace('<svg ', '<svg class="flamegraph" preserveAspectRatio="xMinYMin meet" ')
    .replace('<g id="frames">', '<g class="frames">')
    .replace('<text id="details"', '<text class="fg-details"');
}

/** A stack value in people's units: samples as CPU time (at the sampling period), microseconds as ms/s; the raw value for the tooltip. */
function valueFormatter(data: StackData): (v: number) => { text: string; raw: string } {
  const unit = data.sampleType?.unit;
  if (unit === 'microseconds') return (v) => ({ text: fmtUnit(v, 'µs'), raw: `${fmtInt(v)} µs` });
  if (data.periodNs)
    return (v) => ({ text: fmtUnit((v * data.periodNs!) / 1000, 'µs'), raw: `${fmtInt(v)} samples at ${Math.round(1e9 / data.periodNs!)} Hz` });
  return (v) => ({ text: fmtInt(v), raw: `${fmtInt(v)} samples` });
}

/**
 * A graph's SVG as the text of a hidden textarea: the page draws it when the
 * graph is first shown (scrolled to, or its view picked), not while a node
 * section is built. Thousands of frames cost a long task to parse; text costs
 * nothing. In a textarea only "&" and its end tag mean anything, so "&" is
 * escaped (the SVG has no "</textarea": its names are escaped markup).
 */
function inertSvg(svg: string): string {
  return `<textarea class="fg-src" hidden aria-hidden="true">${svg.replace(/&/g, '&amp;')}</textarea>`;
}

export function flameSection(data: StackData & { capture?: string; target?: string }, frameBudget = MIN_GRAPH_FRAMES): string {
  const samples = Array.isArray(data.stacks) ? data.stacks : [];
  if (!samples.length) return '<p class="muted">No stacks were sampled in the window.</p>';
  const out: string[] = [];
  out.push('<div class="flame">');
  out.push(
    '<div class="fg-tools"><span class="fg-views" role="group" aria-label="Flame graph view">' +
      '<button type="button" class="fg-view" data-view="top-down" aria-pressed="true" title="Callers above callees: where the time goes from main down">Top-down</button>' +
      '<button type="button" class="fg-view" data-view="bottom-up" aria-pressed="false" title="Callees first: the functions the time is spent in, their callers below">Bottom-up</button></span>' +
      '<button type="button" class="fg-reset">Reset zoom</button>' +
      '<input type="search" class="fg-search" placeholder="Search frames (regex)" aria-label="Search frames">' +
      '<span class="fg-status muted">Click a frame to zoom; hover for details.</span></div>',
  );
  // Two views share the page's frame budget for this graph.
  const half = Math.max(1, Math.round(frameBudget / 2));
  const minWidth = minFrameWidthFor(data, half);
  const minWidthUp = minFrameWidthFor(bottomUp(data), half);

  const total = data.total || samples.reduce((a, s) => a + (s.value || 0), 0);
  const value = valueFormatter(data);
  const pct = (v: number) => (total > 0 ? `${((v / total) * 100).toFixed(1)}%` : '-');
  const cell = (v: number) => {
    const { text, raw } = value(v);
    return { html: esc(text), text, title: raw };
  };
  const functions = topFunctions(samples).slice(0, TOP_FUNCTIONS);
  const heaviest = sortableTable(
    [{ header: 'FUNCTION' }, { header: 'SELF', numeric: true }, { header: 'SELF %', numeric: true }, { header: 'TOTAL %', numeric: true }],
    functions.map((f) => [{ html: esc(f.name), text: f.name, title: f.module ? `${f.name} in ${f.module}` : f.name }, cell(f.self), pct(f.self), pct(f.total)]),
    { caption: 'Heaviest functions (by self time)', className: 'fg-top' },
  );
  out.push('<div class="fg-main"><div class="fg-graphs">');
  out.push(`<div class="fg-graph" data-view="top-down">${inertSvg(inlineFlameSvg(data, minWidth, 'top-down'))}</div>`);
  out.push(`<div class="fg-graph" data-view="bottom-up" hidden>${inertSvg(inlineFlameSvg(data, minWidthUp, 'bottom-up'))}</div>`);
  if (minWidth > BASE_MIN_WIDTH || minWidthUp > BASE_MIN_WIDTH) {
    out.push(
      `<p class="note">Frames under ${((Math.max(minWidth, minWidthUp) / PLOT_WIDTH) * 100).toFixed(3)}% of the total are left out of these graphs to keep the page light (${frameBudget.toLocaleString('en-US')} frames at most); the flame graph SVG and pprof files beside it have every frame.</p>`,
    );
  }
  out.push(`</div><aside class="fg-side">${heaviest}</aside></div>`);
  out.push('</div>');
  return out.join('');
}
