// The SVG must be well-formed XML (a strict checker, test/stacks/xml.ts; no
// xmllint here), with names escaped, widths proportional to values, colours
// by frame kind, <title> tooltips and truncated labels that fit.
import { describe, expect, it } from 'vitest';
import { toFlameGraphSvg } from '../../src/stacks/index.js';
import type { StackProfile } from '../../src/stacks/types.js';
import { fixture, TOTAL, WEIRD } from './fixture.js';
import { checkWellFormed, textsOf, type XmlElement } from './xml.js';

const WIDTH = 1000;
const PLOT = WIDTH - 20; // 10 px padding each side

function frames(svg: string): Map<string, XmlElement[]> {
  const byName = new Map<string, XmlElement[]>();
  const elements = checkWellFormed(svg);
  elements.forEach((e, i) => {
    if (e.name !== 'g' || e.attributes.get('class') !== 'f') return;
    const name = e.attributes.get('data-n') as string;
    // The <rect> follows its <title> inside the group.
    const rect = elements.slice(i + 1, i + 4).find((x) => x.name === 'rect') as XmlElement;
    byName.set(name, [...(byName.get(name) ?? []), e, rect]);
  });
  return byName;
}

function hue(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return -1;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

describe('flame graph SVG', () => {
  it('is well-formed, escapes names, sizes frames by value, tooltips with value and percent', () => {
    const svg = toFlameGraphSvg(fixture(), { width: WIDTH, title: 'CPU <test> & co' });
    expect(svg).not.toContain('<script src'); // self-contained
    const byName = frames(svg);
    expect(svg).toContain('do_sys;weird&lt;&amp;&gt;&quot;name&apos;');
    expect(svg).not.toContain(WEIRD);
    expect(textsOf(svg, 'text')).toContain('CPU <test> & co');

    const width = (name: string) => Number(byName.get(name)?.[0]?.attributes.get('data-w'));
    expect(width('all')).toBeCloseTo(PLOT, 1);
    expect(width('app')).toBeCloseTo((PLOT * 4) / TOTAL, 1);
    expect(width('work')).toBeCloseTo((PLOT * 3) / TOTAL, 1);
    expect(width(WEIRD)).toBeCloseTo((PLOT * 3) / TOTAL, 1);
    expect(width('idle')).toBeCloseTo((PLOT * 1) / TOTAL, 1);
    expect(width('JS:*handler /srv/app.js:10')).toBeCloseTo((PLOT * 2) / TOTAL, 1);

    const titles = textsOf(svg, 'title');
    expect(titles).toContain(`all (${TOTAL} samples, 100.00%)`);
    expect(titles).toContain(`work (3 samples, 50.00%)`);
    expect(titles).toContain(`${WEIRD} (3 samples, 50.00%)`);
    expect(titles).toContain(`idle (1 sample, 16.67%)`);
    expect(textsOf(svg, 'text').some((t) => t.startsWith(`total ${TOTAL} samples`))).toBe(true);

    // Classic layout: the root is drawn lowest, each level one frame higher.
    const y = (name: string) => Number(byName.get(name)?.[1]?.attributes.get('y'));
    expect(y('all')).toBeGreaterThan(y('app'));
    expect(y('app')).toBeGreaterThan(y('main'));
    expect(y('app') - y('main')).toBe(16); // one frame height per level
    expect(y('main')).toBe(y('JS:*handler /srv/app.js:10')); // both at depth 2
  });

  it('the inline zoom/search script is valid JavaScript', () => {
    const svg = toFlameGraphSvg(fixture());
    const code = /<script[^>]*><!\[CDATA\[([\s\S]*?)\]\]><\/script>/.exec(svg)?.[1];
    expect(code).toBeDefined();
    expect(() => new Function(code as string)).not.toThrow(); // parses; not run (no DOM here)
  });

  it('colours by kind: user warm, kernel blue, JIT green', () => {
    const byName = frames(toFlameGraphSvg(fixture()));
    const fill = (name: string) => byName.get(name)?.[1]?.attributes.get('fill') as string;
    expect(hue(fill('work'))).toBeLessThan(60);
    expect(hue(fill(WEIRD))).toBeGreaterThan(180);
    expect(hue(fill(WEIRD))).toBeLessThan(240);
    expect(hue(fill('JS:*handler /srv/app.js:10'))).toBeGreaterThan(80);
    expect(hue(fill('JS:*handler /srv/app.js:10'))).toBeLessThan(150);
  });

  it('icicle layout hangs from the top; static output has no script and is still well-formed', () => {
    const svg = toFlameGraphSvg(fixture(), { layout: 'icicle', interactive: false });
    const byName = frames(svg);
    const y = (name: string) => Number(byName.get(name)?.[1]?.attributes.get('y'));
    expect(y('all')).toBeLessThan(y('app'));
    expect(y('app')).toBeLessThan(y('main'));
    expect(svg).not.toContain('<script');
  });

  it('labels are cut to fit their frame; hostile names (control characters, lone surrogates) stay well-formed', () => {
    const long = `very_long_function_name_${'x'.repeat(300)}`;
    const profile: StackProfile = {
      sampleType: { type: 'off-cpu', unit: 'microseconds' },
      samples: [
        { pid: 1, comm: 'p', frames: [{ name: long, kind: 'user' }], value: 50 },
        { pid: 1, comm: 'p', frames: [{ name: 'bad\u0001\u0008name\ud800x]]>', kind: 'unknown' }], value: 50 },
      ],
    };
    const svg = toFlameGraphSvg(profile, { width: 400 });
    checkWellFormed(svg);
    const group = new RegExp(`<g class="f"[^>]*data-n="${long}">.*?<text[^>]*>([^<]*)</text></g>`).exec(svg);
    const label = group?.[1] as string;
    const frameWidth = ((400 - 20) * 50) / 100;
    expect(label.length).toBeGreaterThan(10);
    expect(long.startsWith(label.slice(0, -2))).toBe(true);
    expect(label.endsWith('..')).toBe(true);
    expect(label.length * 11 * 0.62).toBeLessThanOrEqual(frameWidth);
    expect(svg).toContain('bad  namex]]&gt;'); // controls as spaces, the lone surrogate dropped, '>' escaped
    expect(svg).toContain('µs');
  });

  it('an empty profile is still a valid SVG', () => {
    checkWellFormed(toFlameGraphSvg({ sampleType: { type: 'samples', unit: 'count' }, samples: [] }));
  });
});
