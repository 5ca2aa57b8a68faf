// The pieces report.html is made of, without a browser: histogram SVGs, sort
// keys of displayed numbers, escaping, and the flame graph's frame budget.
import { describe, expect, it } from 'vitest';
import { fromSlots, HIST_SLOTS } from '../../src/captures/histogram.js';
import { histogramSvg } from '../../src/report/html/charts.js';
import { esc, scriptSafe } from '../../src/report/html/escape.js';
import { graphFrameBudget, inlineFlameSvg, MAX_GRAPH_FRAMES, MIN_GRAPH_FRAMES, minFrameWidthFor } from '../../src/report/html/flame.js';
import { objectTable, sortableTable, sortKey } from '../../src/report/html/tables.js';
import type { StackData } from '../../src/captures/stack-family/stack-capture.js';
import { fixture } from '../stacks/fixture.js';
import { checkWellFormed } from '../stacks/xml.js';

function stackData(): StackData {
  const profile = fixture();
  return { ...profile, stacks: profile.samples, total: 6, lostStacks: { kernel: 0, user: 0 }, top: 10 };
}

/** `n` one-sample stacks that share nothing below the process: many narrow frames. */
function wideProfile(n: number, depth: number): StackData {
  const stacks = Array.from({ length: n }, (_, i) => ({
    pid: 1,
    comm: 'app',
    frames: Array.from({ length: depth }, (_, d) => ({ name: `f${i}_${d}`, kind: 'user' as const, module: 'app' })),
    value: i === 0 ? 1000 : 1,
  }));
  return { sampleType: { type: 'samples', unit: 'count' }, stacks, total: 1000 + n - 1, lostStacks: { kernel: 0, user: 0 }, top: 10 };
}

describe('report.html parts', () => {
  it('draws a log2 histogram as well-formed SVG, empty buckets between filled ones included, percentiles marked', () => {
    const slots = new Array<number>(HIST_SLOTS).fill(0);
    slots[3] = 50; // 8..16
    slots[4] = 30;
    slots[9] = 2; // 512..1024: a tail, with 5 empty buckets before it
    const h = fromSlots('usecs', slots, 82, 82 * 20);
    const svg = histogramSvg(h, 'destination = 10.0.0.1:5432 <&>');
    const elements = checkWellFormed(svg);
    const rows = elements.filter((e) => e.name === 'g' && e.attributes.get('class') === 'row');
    expect(rows).toHaveLength(7); // slots 3..9
    expect(svg).toContain('8 µs – 16 µs');
    expect(svg).toContain('512 µs – 1.02 ms');
    expect(svg).toContain('◂ p50');
    expect(svg).toContain('◂ p99');
    expect(svg).toContain('&lt;&amp;&gt;');
    expect(elements.filter((e) => e.name === 'rect' && e.attributes.get('class') === 'bar tail')).toHaveLength(1);
    expect(histogramSvg(fromSlots('usecs', new Array<number>(HIST_SLOTS).fill(0), 0, 0), 'x')).toContain('no samples');
  });

  it('sorts displayed numbers by value: units, "<" bounds, thousands separators', () => {
    expect(sortKey('<512')).toBe(512);
    expect(sortKey('1.25ms')).toBe(1250);
    expect(sortKey('850us')).toBe(850);
    expect(sortKey('2.00s')).toBe(2_000_000);
    expect(sortKey('12.5%')).toBe(12.5);
    expect(sortKey('3,456')).toBe(3456);
    expect(sortKey('1.5 KiB')).toBe(1536);
    expect(sortKey('-')).toBeNaN();
    expect(sortKey('?')).toBeNaN();
    expect(sortKey('-3')).toBe(-3);
    const table = sortableTable(
      [{ header: 'A' }, { header: 'N', numeric: true }],
      [
        ['x<y', '1.5ms'],
        [{ html: '<a href="#n">n</a>', text: 'n' }, '-'],
      ],
      { total: 5, fullData: 'nodes/a/b.ndjson' },
    );
    expect(table).toContain('<td>x&lt;y</td><td class="num" data-v="1500">1.5ms</td>');
    expect(table).toContain('<td><a href="#n">n</a></td><td class="num">-</td>');
    expect(table).toContain('Showing the first 2 of 5 rows; all of them are in <code>nodes/a/b.ndjson</code>');
    const objects = objectTable([{ pid: 1234, comm: 'a', args: ['x', 'y'], nested: { k: 1 }, latencyUs: 300000, execs: 5000 }]);
    expect(objects).toContain('<th class="num" title="sort">pid</th>');
    expect(objects).toContain('<td class="num" data-v="1234">1234</td>'); // an id: as it is
    expect(objects).toContain('<td>x y</td><td title="{&quot;k&quot;:1}">k 1</td>');
    // In people's units, sorted by and showing on hover the raw value.
    expect(objects).toContain('<td class="num" data-v="300000" title="300,000 µs">300 ms</td>');
    expect(objects).toContain('<td class="num" data-v="5000" title="5000">5,000</td>');
    // A capture column's bare number gets its header's unit the same way.
    const column = sortableTable(
      [
        { header: 'P99 µs', numeric: true },
        { header: 'PID', numeric: true },
      ],
      [['2048', '31337']],
    );
    expect(column).toContain('<td class="num" data-v="2048" title="2,048 µs">2.05 ms</td><td class="num" data-v="31337">31337</td>');
  });

  it('escapes text, and keeps inert markup from closing its script element', () => {
    expect(esc('<b a="1">&\'\u0000')).toBe('&lt;b a=&quot;1&quot;&gt;&amp;&#39;\ufffd');
    expect(scriptSafe('<p>a</p></SCRIPT><script><!--')).toBe('<p>a</p>&lt;/SCRIPT>&lt;script>&lt;!--');
  });

  it('keeps every flame graph frame of a small profile, and the widest ones within a budget', () => {
    const data = stackData();
    expect(minFrameWidthFor(data)).toBe(0.1);
    const all = checkWellFormed(inlineFlameSvg(data)).filter((e) => e.name === 'g' && e.attributes.get('class') === 'f');
    expect(all.length).toBe(8); // all, app-100, main, work, weird, idle, node-200, its JIT frame: as the SVG file has them

    const wide = wideProfile(2000, 5); // 10,000 frames above the process level
    for (const budget of [3000, 500, 20]) {
      const width = minFrameWidthFor(wide, budget);
      const svg = inlineFlameSvg(wide, width);
      const frames = checkWellFormed(svg).filter((e) => e.name === 'g' && e.attributes.get('class') === 'f');
      expect(frames.length, `budget ${budget}`).toBeLessThanOrEqual(budget);
      // The heavy stack stays whole: the root, the process and its five frames.
      expect(frames.filter((f) => /^f0_/.test(f.attributes.get('data-n')!))).toHaveLength(5);
    }
    // The inline graph has no ids (several share a page) and no script of its own.
    expect(inlineFlameSvg(wide, 1)).not.toMatch(/ id="|<script/);
  });

  it('gives each graph of a page a share of the page budget, within bounds', () => {
    expect(graphFrameBudget(1)).toBe(MAX_GRAPH_FRAMES);
    expect(graphFrameBudget(10)).toBe(4000);
    expect(graphFrameBudget(50)).toBe(MIN_GRAPH_FRAMES);
    expect(graphFrameBudget(500)).toBe(MIN_GRAPH_FRAMES);
    expect(graphFrameBudget(0)).toBe(MAX_GRAPH_FRAMES);
  });
});
