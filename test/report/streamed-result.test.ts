// A capture result read as a stream for its part of report.html: the same
// values as JSON.parse wherever the chunks are cut, arrays cut to their first
// rows with the whole array's figures beside them, one array handed over
// element by element, and never more text held than the budget.
import { describe, expect, it } from 'vitest';
import { arrayFigures, MIN_KEPT_ROWS, StreamedResultReader, type StreamedResultOptions } from '../../src/report/streamed-result.js';
import { CompactFlameTree } from '../../src/stacks/compact-tree.js';
import { toFlameGraphSvg, placedFramesSvg } from '../../src/stacks/flamegraph.js';
import { buildFlameTree } from '../../src/stacks/tree.js';
import type { StackProfile } from '../../src/stacks/types.js';

function read(text: string, cut: number, options: StreamedResultOptions = {}) {
  const reader = new StreamedResultReader(options);
  for (let i = 0; i < text.length; i += cut) reader.push(text.slice(i, i + cut));
  return reader.finish();
}

describe('StreamedResultReader', () => {
  const small = {
    capture: 'x',
    'odd "key", with {braces}': 'a string with , ] } [ { and \\" quotes \u00e9 \ud83d\ude00',
    n: -1.5e3,
    t: true,
    z: null,
    nested: { a: [1, { b: '],' }], c: {} },
    empty: [],
    rows: [{ a: 1 }, 'text', [2, 3], null, { b: '}' }],
  };

  it('gives what JSON.parse gives for a small result, wherever the chunks are cut', () => {
    const text = JSON.stringify(small, null, 1);
    for (const cut of [1, 2, 3, 7, 64, text.length]) expect(read(text, cut).result).toEqual(small);
    const rows = read(JSON.stringify(small), 5).result.rows as unknown[];
    expect(arrayFigures(rows)).toEqual({ length: 5, objects: 2, kept: 5 });
  });

  it('keeps the first rows of a big array, counts all of it and hands every element of the streamed one over', () => {
    const events = Array.from({ length: 20_000 }, (_, i) => ({ i, argv: ['sh', '-c', 'x'.repeat(200)] }));
    const stacks = Array.from({ length: 5_000 }, (_, i) => ({ value: i, frames: [{ name: `f${i}` }] }));
    const text = JSON.stringify({ capture: 'big', events, stacks, total: 3 });
    const seen: number[] = [];
    const budget = 256 * 1024;
    const out = read(text, 4096, { keepBytes: budget, stream: { field: 'stacks', each: (s) => seen.push((s as { value: number }).value) } });
    const kept = out.result.events as typeof events;
    expect(kept.length).toBe(MIN_KEPT_ROWS);
    expect(kept).toEqual(events.slice(0, MIN_KEPT_ROWS));
    expect(arrayFigures(kept)).toEqual({ length: events.length, objects: events.length, kept: MIN_KEPT_ROWS });
    expect(seen).toEqual(stacks.map((s) => s.value));
    expect(arrayFigures(out.result.stacks as unknown[]).length).toBe(stacks.length);
    expect(out.result.total).toBe(3);
    expect(out.keptBytes).toBeLessThanOrEqual(budget);
    expect(out.largestText).toBeLessThanOrEqual(budget);
    expect(text.length).toBeGreaterThan(10 * budget);
  });

  it('leaves out a member bigger than the budget, saying so, and refuses what is not one JSON object', () => {
    const text = JSON.stringify({ capture: 'x', blob: { data: 'y'.repeat(100_000) }, after: 1 });
    const out = read(text, 1000, { keepBytes: 10_000 });
    expect(out.result).toEqual({ capture: 'x', after: 1 });
    expect(out.leftOut).toEqual([{ field: 'blob', bytes: expect.any(Number) }]);
    expect(out.leftOut[0]!.bytes).toBeGreaterThan(100_000);
    expect(out.largestText).toBeLessThanOrEqual(10_000);
    expect(() => read('[1,2]', 10)).toThrow(/not a JSON object/);
    expect(() => read('{"a":1', 10)).toThrow(/ended early/);
    expect(() => read('{"a":1} x', 10)).toThrow(/after the result/);
  });
});

describe('CompactFlameTree', () => {
  const profile = (): StackProfile => {
    let seed = 11;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const names = Array.from({ length: 60 }, (_, i) => `fn_${i}`);
    return {
      sampleType: { type: 'samples', unit: 'count' },
      samples: Array.from({ length: 400 }, (_, i) => ({
        pid: 1 + (i % 3),
        comm: `p${i % 3}`,
        value: 1 + next(50),
        frames: Array.from({ length: 3 + next(12) }, (_, d) => ({
          name: names[d < 2 ? d : next(60)]!,
          kind: d % 4 === 0 ? ('kernel' as const) : ('user' as const),
        })),
      })),
    };
  };

  it('lays frames out as the FlameNode tree does: the same SVG at any minimum width', () => {
    const p = profile();
    const tree = new CompactFlameTree();
    for (const s of p.samples) tree.add(`${s.comm}-${s.pid}`, s.frames, s.value);
    const root = buildFlameTree(p, { includePid: true });
    expect(tree.total).toBe(root.value);
    for (const minFrameWidth of [0.1, 2, 40]) {
      const options = { includePid: true, minFrameWidth, interactive: false, layout: 'icicle' as const };
      const svg = placedFramesSvg(tree.place(1180, minFrameWidth), { total: tree.total, stackCount: tree.stackCount, sampleType: p.sampleType }, options);
      expect(svg).toBe(toFlameGraphSvg(p, options));
    }
  });

  it('never holds more than its nodes, cutting the narrowest while the total stays exact', () => {
    const p = profile();
    const whole = new CompactFlameTree();
    const small = new CompactFlameTree(200);
    for (const s of [...p.samples].sort((a, b) => b.value - a.value)) {
      whole.add(s.comm, s.frames, s.value);
      small.add(s.comm, s.frames, s.value);
      expect(small.nodes).toBeLessThanOrEqual(200);
    }
    expect(whole.nodes).toBeGreaterThan(1000);
    expect(small.cutNodes).toBeGreaterThan(0);
    expect(small.total).toBe(whole.total);
    // Processes (the first level) keep their exact widths; no frame is wider than its widest namesake in the whole tree.
    const wholeFrames = whole.place(1180, 0.1);
    const smallFrames = small.place(1180, 0.1);
    for (const f of smallFrames.filter((f) => f.depth <= 1)) {
      expect(f.w).toBe(wholeFrames.find((g) => g.depth === f.depth && g.node.name === f.node.name)!.w);
    }
    const widest = new Map<string, number>();
    for (const g of wholeFrames) widest.set(`${g.node.name}@${g.depth}`, Math.max(widest.get(`${g.node.name}@${g.depth}`) ?? 0, g.w));
    for (const f of smallFrames) expect(f.w).toBeLessThanOrEqual(widest.get(`${f.node.name}@${f.depth}`)! + 1e-9);
  });
});
