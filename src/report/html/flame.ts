// A stacks-kind result (profile, offcputime) in the page: the flame graph from
// src/stacks/flamegraph.ts without its own script (the page script zooms,
// searches and shows details, once per graph), the heaviest functions, and
// the capture's own stack table.
import { stackProfileOf } from '../../captures/stack-family/outputs.js';
import { topFunctions, type StackData } from '../../captures/stack-family/stack-capture.js';
import { toFlameGraphSvg } from '../../stacks/flamegraph.js';
import { buildFlameTree, type FlameNode } from '../../stacks/tree.js';
import { fmtInt } from '../../format/index.js';
import { sortableTable } from './tables.js';

/**
 * Frames of all the flame graphs of one page together (~400 bytes of SVG
 * each): a 1-node run draws every frame, a 50-node run a few thousand per
 * graph. The narrowest frames go first; the bundle's own flame graph SVG and
 * pprof keep every one.
 */
export const PAGE_FRAME_BUDGET = 150_000;
/** Whatever the run's size, a graph may keep this many frames, and needs no more than the most. */
export const MIN_GRAPH_FRAMES = 3000;
export const MAX_GRAPH_FRAMES = 30_000;
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

/** The flame graph SVG made to live inside an HTML page: no XML declaration, no ids, scaled to the width. */
export function inlineFlameSvg(data: StackData & { capture?: string; target?: string }, minFrameWidth = minFrameWidthFor(data)): string {
  const svg = toFlameGraphSvg(stackProfileOf(data), {
    includePid: true,
    interactive: false,
    title: titleOf(data),
    minFrameWidth,
  });
  return svg
    .replace(/^<\?xml[^>]*\?>\s*/, '')
    .replace('<svg ', '<svg class="flamegraph" preserveAspectRatio="xMinYMin meet" ')
    .replace('<g id="frames">', '<g class="frames">')
    .replace('<text id="details"', '<text class="fg-details"');
}

export function flameSection(data: StackData & { capture?: string; target?: string }, frameBudget = MIN_GRAPH_FRAMES): string {
  const samples = Array.isArray(data.stacks) ? data.stacks : [];
  if (!samples.length) return '<p class="muted">No stacks were sampled in the window.</p>';
  const out: string[] = [];
  out.push('<div class="flame">');
  out.push(
    '<div class="fg-tools"><button type="button" class="fg-reset">Reset zoom</button>' +
      '<input type="search" class="fg-search" placeholder="Search frames (regex)" aria-label="Search frames">' +
      '<span class="fg-status muted">Click a frame to zoom; hover for details.</span></div>',
  );
  const minWidth = minFrameWidthFor(data, frameBudget);
  out.push(`<div class="fg-graph">${inlineFlameSvg(data, minWidth)}</div>`);
  if (minWidth > BASE_MIN_WIDTH) {
    out.push(
      `<p class="note">Frames under ${((minWidth / PLOT_WIDTH) * 100).toFixed(3)}% of the total are left out of this graph to keep the page light (${frameBudget.toLocaleString('en-US')} frames at most); the flame graph SVG and pprof files beside it have every frame.</p>`,
    );
  }
  out.push('</div>');

  const total = data.total || samples.reduce((a, s) => a + (s.value || 0), 0);
  const unit = data.sampleType?.unit === 'microseconds' ? 'µs' : 'samples';
  const pct = (v: number) => (total > 0 ? `${((v / total) * 100).toFixed(1)}%` : '-');
  const functions = topFunctions(samples).slice(0, TOP_FUNCTIONS);
  out.push(
    sortableTable(
      [
        { header: 'FUNCTION' },
        { header: 'MODULE' },
        { header: `SELF (${unit})`, numeric: true },
        { header: 'SELF %', numeric: true },
        { header: `TOTAL (${unit})`, numeric: true },
        { header: 'TOTAL %', numeric: true },
      ],
      functions.map((f) => [f.name, f.module || '-', fmtInt(f.self), pct(f.self), fmtInt(f.total), pct(f.total)]),
      { caption: `Heaviest functions (by self ${unit})` },
    ),
  );
  return out.join('');
}
