// A stacks-kind result (profile, offcputime) in the page: the flame graph from
// src/stacks/flamegraph.ts without its own script (the page script zooms,
// searches and shows details, once per graph), the heaviest functions, and
// the capture's own stack table.
import type { FunctionRow, StackData } from '../../captures/stack-family/stack-capture.js';
import { CompactFlameTree, DEFAULT_TREE_NODES } from '../../stacks/compact-tree.js';
import { placedFramesSvg, plotWidthOf } from '../../stacks/flamegraph.js';
import { processName } from '../../stacks/names.js';
import type { StackSample } from '../../stacks/types.js';
import type { Frame } from '../../symbolize/types.js';
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
const PLOT_WIDTH = plotWidthOf(1200);
export const TOP_FUNCTIONS = 30;

/** Frames each of `graphs` flame graphs on one page may keep. */
export function graphFrameBudget(graphs: number): number {
  return Math.round(Math.min(MAX_GRAPH_FRAMES, Math.max(MIN_GRAPH_FRAMES, PAGE_FRAME_BUDGET / Math.max(1, graphs))));
}

/**
 * What a flame section is drawn from, gathered one stack at a time (a stored
 * profile is read as a stream, never parsed whole): the flame tree both ways
 * (compact, at most `maxNodes` each) and the functions' self and total time.
 */
export class FlameDigest {
  readonly topDown: CompactFlameTree;
  readonly bottomUp: CompactFlameTree;
  private readonly functions = new Map<string, FunctionRow>();
  samples = 0;
  sum = 0;
  /** Functions not counted: past MAX_FUNCTIONS distinct ones. */
  functionsLeftOut = 0;

  constructor(maxNodes = DEFAULT_TREE_NODES) {
    this.topDown = new CompactFlameTree(maxNodes);
    this.bottomUp = new CompactFlameTree(maxNodes);
  }

  /** One stack of the result, in its stored order (heaviest first). */
  add(sample: StackSample): void {
    if (!sample || !Array.isArray(sample.frames)) return;
    this.samples++;
    this.sum += sample.value || 0;
    const root = processName(sample, true);
    this.topDown.add(root, sample.frames, sample.value);
    this.bottomUp.add(root, [...sample.frames].reverse(), sample.value);
    // As topFunctions (stack-capture.ts) counts them: self at the leaf, total once per stack.
    const leaf = sample.frames.at(-1);
    const leafRow = leaf && this.row(leaf);
    if (leafRow) leafRow.self += sample.value;
    const inStack = new Set<FunctionRow>();
    for (const f of sample.frames) {
      const r = this.row(f);
      if (r) inStack.add(r);
    }
    for (const r of inStack) r.total += sample.value;
  }

  private row(f: Frame): FunctionRow | undefined {
    const module = f.module ?? (f.kind === 'jit' ? '[jit]' : '');
    const id = `${f.name}\0${module}`;
    let r = this.functions.get(id);
    if (!r) {
      if (this.functions.size >= MAX_FUNCTIONS) {
        this.functionsLeftOut++;
        return undefined;
      }
      this.functions.set(id, (r = { name: f.name, module, self: 0, total: 0 }));
    }
    return r;
  }

  /** Functions by self value (ties by total), heaviest first: topFunctions' order. */
  topFunctions(n: number): FunctionRow[] {
    return [...this.functions.values()].sort((a, b) => b.self - a.self || b.total - a.total).slice(0, n);
  }
}

/** Heap a digest may take at most (two trees at DEFAULT_TREE_NODES, ~60 B a node, and its functions): its weight in the result gate. */
export const FLAME_DIGEST_BYTES = 16 * 1024 * 1024;

/** Distinct functions a digest counts (the page lists the heaviest TOP_FUNCTIONS). */
export const MAX_FUNCTIONS = 50_000;

/** A digest of every stack of `data` (a result held whole). */
export function digestStacks(data: StackData): FlameDigest {
  const digest = new FlameDigest();
  for (const s of Array.isArray(data.stacks) ? data.stacks : []) digest.add(s);
  return digest;
}

/**
 * The minimum frame width (px of the 1200 px graph) that keeps at most
 * `budget` frames: 0.1 when all fit, else just over the width of the first
 * frame that does not (ties at the boundary go together).
 */
export function minFrameWidthOf(tree: CompactFlameTree, budget = MIN_GRAPH_FRAMES): number {
  if (!(tree.total > 0)) return BASE_MIN_WIDTH;
  const widths = tree.widths(PLOT_WIDTH, BASE_MIN_WIDTH); // a frame narrower than 0.1 has nothing drawn above it either
  if (widths.length <= budget) return BASE_MIN_WIDTH;
  widths.sort().reverse();
  const cut = widths[budget]!; // the widest frame that does not fit
  return Math.round(cut * 1.0001 * 1e4 + 1) / 1e4;
}

/** minFrameWidthOf for a result held whole (top-down). */
export function minFrameWidthFor(data: StackData, budget = MIN_GRAPH_FRAMES): number {
  return minFrameWidthOf(digestStacks(data).topDown, budget);
}

/** What a flame section says besides its stacks: the result's scalars. */
export type FlameMeta = Pick<StackData, 'sampleType' | 'periodNs' | 'total'> & { capture?: string; target?: string };

function titleOf(data: FlameMeta): string {
  const what = data.sampleType?.type === 'off-cpu' ? 'Off-CPU time' : 'CPU samples';
  const rate = data.periodNs ? ` at ${Math.round(1e9 / data.periodNs)} Hz` : '';
  return [data.capture, `${what}${rate}`, data.target].filter(Boolean).join(' · ');
}

export type FlameView = 'top-down' | 'bottom-up';

/**
 * The flame graph SVG made to live inside an HTML page: no XML declaration,
 * no ids, scaled to the width, drawn from the top (root first, as people
 * read) and as tall as its deepest drawn frame.
 */
export function treeFlameSvg(tree: CompactFlameTree, meta: FlameMeta, minFrameWidth: number, view: FlameView = 'top-down'): string {
  const svg = placedFramesSvg(
    tree.place(PLOT_WIDTH, minFrameWidth),
    { total: tree.total, stackCount: tree.stackCount, sampleType: meta.sampleType },
    { interactive: false, layout: 'icicle', title: `${titleOf(meta)}${view === 'bottom-up' ? ' · bottom-up (callees first)' : ''}`, minFrameWidth },
  );
  return svg
    .replace(/^<\?xml[^>]*\?>\s*/, '')
    .replace('<svg ', '<svg class="flamegraph" preserveAspectRatio="xMinYMin meet" ')
    .replace('<g id="frames">', '<g class="frames">')
    .replace('<text id="details"', '<text class="fg-details"');
}

/** treeFlameSvg for a result held whole. */
export function inlineFlameSvg(data: StackData & { capture?: string; target?: string }, minFrameWidth?: number, view: FlameView = 'top-down'): string {
  const digest = digestStacks(data);
  const tree = view === 'bottom-up' ? digest.bottomUp : digest.topDown;
  return treeFlameSvg(tree, data, minFrameWidth ?? minFrameWidthOf(tree), view);
}

/** A stack value in people's units: samples as CPU time (at the sampling period), microseconds as ms/s; the raw value for the tooltip. */
function valueFormatter(data: FlameMeta): (v: number) => { text: string; raw: string } {
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

/** The flame section of a result held whole. */
export function flameSection(data: StackData & { capture?: string; target?: string }, frameBudget = MIN_GRAPH_FRAMES): string {
  return digestFlameSection(digestStacks(data), data, frameBudget);
}

/** The flame section from a digest of the stacks and the result's scalars. */
export function digestFlameSection(digest: FlameDigest, data: FlameMeta, frameBudget = MIN_GRAPH_FRAMES): string {
  if (!digest.samples) return '<p class="muted">No stacks were sampled in the window.</p>';
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
  const minWidth = minFrameWidthOf(digest.topDown, half);
  const minWidthUp = minFrameWidthOf(digest.bottomUp, half);

  const total = data.total || digest.sum;
  const value = valueFormatter(data);
  const pct = (v: number) => (total > 0 ? `${((v / total) * 100).toFixed(1)}%` : '-');
  const cell = (v: number) => {
    const { text, raw } = value(v);
    return { html: esc(text), text, title: raw };
  };
  const functions = digest.topFunctions(TOP_FUNCTIONS);
  const heaviest = sortableTable(
    [{ header: 'FUNCTION' }, { header: 'SELF', numeric: true }, { header: 'SELF %', numeric: true }, { header: 'TOTAL %', numeric: true }],
    functions.map((f) => [{ html: esc(f.name), text: f.name, title: f.module ? `${f.name} in ${f.module}` : f.name }, cell(f.self), pct(f.self), pct(f.total)]),
    { caption: 'Heaviest functions (by self time)', className: 'fg-top' },
  );
  out.push('<div class="fg-main"><div class="fg-graphs">');
  out.push(`<div class="fg-graph" data-view="top-down">${inertSvg(treeFlameSvg(digest.topDown, data, minWidth, 'top-down'))}</div>`);
  out.push(`<div class="fg-graph" data-view="bottom-up" hidden>${inertSvg(treeFlameSvg(digest.bottomUp, data, minWidthUp, 'bottom-up'))}</div>`);
  if (minWidth > BASE_MIN_WIDTH || minWidthUp > BASE_MIN_WIDTH) {
    out.push(
      `<p class="note">Frames under ${((Math.max(minWidth, minWidthUp) / PLOT_WIDTH) * 100).toFixed(3)}% of the total are left out of these graphs to keep the page light (${frameBudget.toLocaleString('en-US')} frames at most); the flame graph SVG and pprof files beside it have every frame.</p>`,
    );
  }
  out.push(`</div><aside class="fg-side">${heaviest}</aside></div>`);
  out.push('</div>');
  return out.join('');
}
