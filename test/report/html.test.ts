// report.html opened from disk in headless Chromium (Debian's, through
// playwright-core; no browser is downloaded): the bundle of a real run is
// extracted under test-artifacts/report/, the page loads with no console
// errors and no network, the findings come first and are visible, a flame
// graph frame grows when clicked (zoom), search marks frames, tables sort,
// links to a capture open its node. Screenshots stay in test-artifacts/.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { startStack, type Stack } from '../server/harness.js';
import { realRun, REPORT_CAPTURES, type RealRun } from './real-run.js';
import { artifactsDir, extractTo, unpack } from './unpack.js';

const CHROMIUM = '/usr/bin/chromium';
const NODE = 'html-node';
/** The flame graph shown first: top-down. */
const TOP = '.fg-graph[data-view="top-down"] svg.flamegraph';
const skip = kernelSkipReason() ?? (existsSync(CHROMIUM) ? undefined : `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(skip)(`report.html in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let run: RealRun;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  let pagePath: string;
  let findings: { severity: string; title: string; capture: string }[] = [];

  beforeAll(async () => {
    stack = await startStack([NODE]);
    run = await realRun(stack, NODE);
    const res = await fetch(`${stack.admin.baseUrl}/v1/runs/${run.id}/report`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(res.status).toBe(200);
    const entries = await unpack(Buffer.from(await res.arrayBuffer()));
    findings = JSON.parse(entries.get(`sherlock-${run.id}/findings.json`)!.data.toString('utf8')).findings;
    const dir = join(artifactsDir, 'bundle');
    rmSync(dir, { recursive: true, force: true });
    extractTo(entries, dir);
    pagePath = join(dir, `sherlock-${run.id}`, 'report.html');

    profileDir = mkdtempSync(join(tmpdir(), 'sherlock-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1360, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(pathToFileURL(pagePath).href);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 10_000 });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('loads from disk with no console errors and asks the network for nothing', async () => {
    await page.screenshot({ path: join(artifactsDir, 'report-top.png') });
    await page.screenshot({ path: join(artifactsDir, 'report-full.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
  });

  it('shows the findings first, worst first, with links that open their capture', async () => {
    const order = (await page.evaluate(
      `Array.from(document.querySelectorAll('body > header, body > section')).map(function (e) { return e.id || e.tagName.toLowerCase(); })`,
    )) as string[];
    expect(order.slice(0, 2)).toEqual(['header', 'findings']);
    expect(findings.length).toBeGreaterThan(0);
    const titles = page.locator('#findings .finding-title');
    expect(await titles.allTextContents()).toEqual(findings.map((f) => f.title));
    for (let i = 0; i < findings.length; i++) expect(await titles.nth(i).isVisible()).toBe(true);
    const rank = { critical: 0, warning: 1, info: 2 } as Record<string, number>;
    const ranks = findings.map((f) => rank[f.severity]!);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    // Collapse every node, then follow the first finding's link: its node opens at the capture.
    await page.click('#collapse-all');
    expect(await page.locator('details.node[open]').count()).toBe(0);
    const link = page.locator('#findings a.goto').first();
    const target = (await link.getAttribute('href'))!.slice(1);
    // A capture's section, or the node's for a finding about the node as a whole (capture "*").
    expect(target).toBe(findings[0]!.capture === '*' ? `node-${NODE}` : `cap-${NODE}-${findings[0]!.capture}`);
    await link.click();
    expect(await page.locator('details.node[open]').count()).toBe(1);
    expect(await page.locator(`#${target}`).isVisible()).toBe(true);
    await page.screenshot({ path: join(artifactsDir, 'finding-link.png') });
  });

  it('zooms the flame graph on a click: the frame widens to the full width, others hide; reset and search work', async () => {
    await page.click('#expand-all');
    await page.locator(`#cap-${NODE}-profile`).scrollIntoViewIfNeeded();
    await page.waitForSelector(`#cap-${NODE}-profile ${TOP}`);
    const pick = (await page.evaluate(`(function () {
      var frames = Array.from(document.querySelectorAll('#cap-${NODE}-profile ${TOP} g.f'));
      var scale = document.querySelector('#cap-${NODE}-profile ${TOP}').getBoundingClientRect().width / 1200;
      var best = -1, bestW = 0;
      frames.forEach(function (g, i) {
        var w = parseFloat(g.getAttribute('data-w')) * scale;
        if (g.getAttribute('data-d') !== '0' && w > 12 && w < 600 && w > bestW) { best = i; bestW = w; }
      });
      return { index: best, total: frames.length };
    })()`)) as { index: number; total: number };
    expect(pick.total).toBeGreaterThan(1);
    expect(pick.index).toBeGreaterThan(0);
    const frame = page.locator(`#cap-${NODE}-profile ${TOP} g.f`).nth(pick.index);
    const before = Number(await frame.locator('rect').getAttribute('width'));
    const boxBefore = (await frame.boundingBox())!;
    await page.screenshot({ path: join(artifactsDir, 'flame-before.png'), clip: { x: 0, y: Math.max(0, boxBefore.y - 300), width: 1360, height: 420 } });
    await frame.click();
    const after = Number(await frame.locator('rect').getAttribute('width'));
    expect(after).toBeGreaterThan(before);
    expect(after).toBeCloseTo(1180, 0); // the plot width: the clicked frame fills it
    expect((await frame.boundingBox())!.width).toBeGreaterThan(boxBefore.width);
    // The root ("all") is an ancestor of the clicked frame: kept full width, dimmed.
    const root = page.locator(`#cap-${NODE}-profile ${TOP} g.f[data-d="0"]`);
    expect(await root.evaluate((g: { style: { opacity: string } }) => g.style.opacity)).toBe('0.55');
    expect(Number(await root.locator('rect').getAttribute('width'))).toBeCloseTo(1180, 0);
    await page.locator(`#cap-${NODE}-profile .flame`).screenshot({ path: join(artifactsDir, 'flame-zoomed.png') });

    await page.locator(`#cap-${NODE}-profile .fg-reset`).click();
    expect(Number(await frame.locator('rect').getAttribute('width'))).toBeCloseTo(before, 1);

    const name = (await frame.getAttribute('data-n'))!;
    await page.locator(`#cap-${NODE}-profile .fg-search`).fill(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    expect(await frame.locator('rect').getAttribute('fill')).toBe('#d050e0');
    expect(await page.locator(`#cap-${NODE}-profile .fg-status`).textContent()).toMatch(/^\d+ frames matched, [\d.]+% of the total$/);
    await page.locator(`#cap-${NODE}-profile .fg-search`).fill('');
    expect(await frame.locator('rect').getAttribute('fill')).not.toBe('#d050e0');
    expect(consoleErrors).toEqual([]);
  });

  it('draws the flame graph from the top, as tall as its frames, with a bottom-up view and the heaviest functions beside it in time units', async () => {
    await page.click('#expand-all');
    await page.waitForSelector(`#cap-${NODE}-profile .fg-graph`);
    const box = page.locator(`#cap-${NODE}-profile .flame`);
    // Both views drawn (the bottom-up one is drawn when first picked).
    await box.locator('.fg-view[data-view="bottom-up"]').click();
    await box.locator('.fg-view[data-view="top-down"]').click();
    const shape = (await page.evaluate(`(function (box) {
      function of(view) {
        var svg = box.querySelector('.fg-graph[data-view="' + view + '"] svg');
        var ys = Array.from(svg.querySelectorAll('g.f rect')).map(function (r) { return parseFloat(r.getAttribute('y')); });
        var root = svg.querySelector('g.f[data-d="0"] rect');
        return { height: parseFloat(svg.getAttribute('height')), maxY: Math.max.apply(null, ys), rootY: parseFloat(root.getAttribute('y')), minY: Math.min.apply(null, ys) };
      }
      return { top: of('top-down'), up: of('bottom-up') };
    })(document.querySelector('#cap-${NODE}-profile .flame'))`)) as Record<'top' | 'up', { height: number; maxY: number; rootY: number; minY: number }>;
    for (const view of [shape.top, shape.up]) {
      expect(view.rootY).toBe(view.minY); // the root is the top row
      expect(view.height - view.maxY).toBeLessThanOrEqual(16 + 26); // the deepest row, then the footer: no blank band
    }
    // Beside the graph, not below it.
    const graph = (await box.locator('.fg-graph[data-view="top-down"]').boundingBox())!;
    const side = (await box.locator('.fg-side').boundingBox())!;
    expect(side.x).toBeGreaterThanOrEqual(graph.x + graph.width - 1);
    expect(side.y).toBeLessThan(graph.y + graph.height);
    // Self time in time units, the raw samples on hover.
    const self = box.locator('.fg-side tbody tr td:nth-child(2)').first();
    expect(await self.textContent()).toMatch(/^[\d.,]+ (ns|µs|ms|s)$/);
    expect(await self.getAttribute('title')).toMatch(/^[\d,]+ samples at \d+ Hz$/);
    await box.screenshot({ path: join(artifactsDir, 'flame-top-down.png') });

    // Bottom-up: the other graph shows; search applies to it.
    await box.locator('.fg-view[data-view="bottom-up"]').click();
    expect(await box.locator('.fg-graph[data-view="bottom-up"]').isVisible()).toBe(true);
    expect(await box.locator('.fg-graph[data-view="top-down"]').isVisible()).toBe(false);
    expect(await box.locator('.fg-view[data-view="bottom-up"]').getAttribute('aria-pressed')).toBe('true');
    const leaf = (await box.locator('.fg-graph[data-view="bottom-up"] g.f[data-d="2"]').first().getAttribute('data-n'))!;
    await box.locator('.fg-search').fill(leaf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    expect(await box.locator('.fg-graph[data-view="bottom-up"] g.f[data-d="2"] rect').first().getAttribute('fill')).toBe('#d050e0');
    await box.screenshot({ path: join(artifactsDir, 'flame-bottom-up.png') });
    await box.locator('.fg-search').fill('');
    await box.locator('.fg-view[data-view="top-down"]').click();
    expect(consoleErrors).toEqual([]);
  });

  it('builds an opened node a capture at a time and draws a flame graph only once it is shown, its other view in a later task', async () => {
    // From the top (a reload restores the scroll position, which would bring the graph on screen at once).
    await page.evaluate('window.scrollTo(0, 0)');
    await page.reload();
    await page.waitForSelector('html[data-ready="1"]', { timeout: 10_000 });
    expect(await page.evaluate('window.scrollY')).toBe(0);
    const node = page.locator(`#node-${NODE}`);
    expect(await node.getAttribute('data-built')).toBe('1');
    // One raw-text part per capture plus the intro, all built now (none left in the page).
    expect(await page.locator(`script[type="text/x-sherlock-node"]`).count()).toBe(0);
    expect(await node.locator('section.capture').count()).toBe(REPORT_CAPTURES.length);
    const box = page.locator(`#cap-${NODE}-profile .flame`);
    const drawn = () =>
      page.evaluate(`(function (box) {
        return Array.from(box.querySelectorAll('.fg-graph')).map(function (g) {
          return g.getAttribute('data-view') + ':' + (g.querySelector('svg.flamegraph') ? 'svg' : g.querySelector('textarea.fg-src') ? 'text' : 'none');
        }).join(' ');
      })(document.querySelector('#cap-${NODE}-profile .flame'))`);
    const top = (await box.boundingBox())!;
    expect(top.y).toBeGreaterThan(900 + 200); // below the execsnoop and opensnoop tables
    expect(await drawn()).toBe('top-down:text bottom-up:text'); // off screen: not drawn yet
    await box.scrollIntoViewIfNeeded();
    await page.waitForSelector(`#cap-${NODE}-profile ${TOP}`);
    // The hidden view follows in a task of its own, before anyone asks for it.
    for (let i = 0; i < 50 && (await drawn()) !== 'top-down:svg bottom-up:svg'; i++) await page.waitForTimeout(50);
    expect(await drawn()).toBe('top-down:svg bottom-up:svg');
    await box.locator('.fg-view[data-view="bottom-up"]').click();
    expect(await box.locator('.fg-graph[data-view="bottom-up"] svg.flamegraph').isVisible()).toBe(true);
    await box.locator('.fg-view[data-view="top-down"]').click();
    expect(consoleErrors).toEqual([]);
  });

  it("shows numbers in people's units (ms, MiB, %, counts with separators), the raw value on hover", async () => {
    // A fresh page, at the top: findings off screen skip layout (content-visibility), so none can be clicked there.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.reload();
    await page.waitForSelector('html[data-ready="1"]', { timeout: 10_000 });
    await page.click('#expand-all');
    await page.waitForSelector(`#node-${NODE}[data-built="1"]`);
    // A finding's evidence is built when its box is first opened.
    const boxes = page.locator('#findings details.evidence-box');
    expect(await boxes.count()).toBeGreaterThan(0);
    expect(await page.locator('#findings details.evidence-box dl.evidence').count()).toBe(0);
    expect(await page.locator('#findings script[type="text/x-sherlock-evidence"]').count()).toBe(await boxes.count());
    await boxes.first().locator('summary').click();
    await page.waitForSelector('#findings details.evidence-box dl.evidence');
    await page.evaluate(`document.querySelectorAll('#findings details.evidence-box').forEach(function (d) { d.open = true; })`);
    for (let i = 0; i < 50 && (await page.locator('#findings script[type="text/x-sherlock-evidence"]').count()) > 0; i++) await page.waitForTimeout(100);
    expect(await page.locator('#findings details.evidence-box dl.evidence').count()).toBe(await boxes.count());
    // No bare number of four digits or more in a table's numeric column, a fact or an evidence value, but for identifiers.
    const bare = (await page.evaluate(`(function () {
      var id = /(^|[^a-z])(pid|ppid|tid|uid|gid|errno|error|err|ret|exit|exitcode|port|cpu|fd|id)$|Id$/i, bare = /^-?\\d{4,}(\\.\\d+)?$/, out = [];
      Array.from(document.querySelectorAll('table.sortable')).forEach(function (t) {
        var heads = Array.from(t.querySelectorAll('thead th')).map(function (th) { return th.textContent; });
        Array.from(t.querySelectorAll('tbody td.num')).forEach(function (td) {
          var h = heads[td.cellIndex] || '', text = td.textContent.trim();
          if (bare.test(text) && !id.test(h)) out.push(h + ' = ' + text);
        });
      });
      Array.from(document.querySelectorAll('dl.evidence > dd, dl.facts > dd')).forEach(function (dd) {
        var dt = dd.previousElementSibling ? dd.previousElementSibling.textContent : '', text = dd.textContent.trim();
        if (bare.test(text) && !id.test(dt)) out.push(dt + ' = ' + text);
      });
      return out;
    })()`)) as string[];
    expect(bare).toEqual([]);
    // A microsecond field (tcpconnlat's slowest connects) reads in time units, its raw microseconds on hover.
    const latency = page.locator(`#cap-${NODE}-tcpconnlat td.num[title$=" µs"]`).first();
    expect(await latency.textContent({ timeout: 5000 })).toMatch(/^[\d.,]+ (µs|ms|s)$/);
    expect(await latency.getAttribute('title')).toMatch(/^[\d,.]+ µs$/);
    await page.locator(`#cap-${NODE}-tcpconnlat`).screenshot({ path: join(artifactsDir, 'units-tcpconnlat.png') });
    expect(consoleErrors).toEqual([]);
  });

  it('sorts tables by a header click, numbers as numbers', async () => {
    const table = page.locator(`#cap-${NODE}-execsnoop table.sortable`).first();
    const header = table.locator('th', { hasText: /^PID$/ });
    await header.click();
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    const pids = (await table.locator('tbody tr td:nth-child(3)').allTextContents()).map(Number);
    expect(pids.length).toBeGreaterThan(1);
    expect(pids).toEqual([...pids].sort((a, b) => b - a));
    await header.click();
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    const up = (await table.locator('tbody tr td:nth-child(3)').allTextContents()).map(Number);
    expect(up).toEqual([...pids].sort((a, b) => a - b));
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: join(artifactsDir, 'report-end.png'), fullPage: true });
  });
});
