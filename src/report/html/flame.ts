// A stacks-kind result (profile, offcputime) in the page: the flame graph from
// src/stacks/flamegraph.ts without its own script (the page script zooms,
// searches and shows details, once per graph), the heaviest functions, and
// the capture's own stack table.
import { stackProfileOf } from '../../captures/profile/outputs.js';
import { topFunctions, type StackData } from '../../captures/profile/stack-capture.js';
import { toFlameGraphSvg } from '../../stacks/flamegraph.js';
import { buildFlameTree, type FlameNode } from '../../stacks/tree.js';
import { fmtInt } from '../format.js';
import { sortableTable } from './tables.js';

/**
 * At most about this many frames per graph in the page (~400 bytes of SVG
 * each): a profile with thousands of one-sample stacks would otherwise put
 * megabytes per node into report.html. The narrowest frames go first; the
 * bundle's own flame graph SVG and pprof keep every one.
 */
export const FRAME_BUDGET = 3000;
/** Minimum frame widths tried, in px of the 1200 px graph: the first that fits the budget wins. */
const MIN_WIDTHS = [0.1, 0.25, 0.5, 1, 2, 4, 8];
const PLOT_WIDTH = 1180;
export const TOP_FUNCTIONS = 30;

/** The smallest minimum frame width (px) that keeps the graph within `budget` frames. */
export function minFrameWidthFor(data: StackData, budget = FRAME_BUDGET): number {
  const root = buildFlameTree(stackProfileOf(data), { includePid: true });
  if (!(root.value > 0)) return MIN_WIDTHS[0]!;
  const scale = PLOT_WIDTH / root.value;
  const counts = MIN_WIDTHS.map(() => 0);
  const stack: FlameNode[] = [root];
  while (stack.length) {
    const node = stack.pop()!;
    const w = node.value * scale;
    for (let i = 0; i < MIN_WIDTHS.length && w >= MIN_WIDTHS[i]!; i++) counts[i]!++;
    if (w >= MIN_WIDTHS[0]!) for (const c of node.children.values()) stack.push(c);
  }
  const fit = counts.findIndex((n) => n <= budget);
  return MIN_WIDTHS[fit < 0 ? MIN_WIDTHS.length - 1 : fit]!;
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

export function flameSection(data: StackData & { capture?: string; target?: string }): string {
  const samples = Array.isArray(data.stacks) ? data.stacks : [];
  if (!samples.length) return '<p class="muted">No stacks were sampled in the window.</p>';
  const out: string[] = [];
  out.push('<div class="flame">');
  out.push(
    '<div class="fg-tools"><button type="button" class="fg-reset">Reset zoom</button>' +
      '<input type="search" class="fg-search" placeholder="Search frames (regex)" aria-label="Search frames">' +
      '<span class="fg-status muted">Click a frame to zoom; hover for details.</span></div>',
  );
  const minWidth = minFrameWidthFor(data);
  out.push(`<div class="fg-graph">${inlineFlameSvg(data, minWidth)}</div>`);
  if (minWidth > MIN_WIDTHS[0]!) {
    out.push(
      `<p class="note">Frames narrower than ${minWidth} px (under ${((minWidth / PLOT_WIDTH) * 100).toFixed(2)}% of the total) are left out of this graph to keep the page light; the flame graph SVG and pprof files beside it have every frame.</p>`,
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
