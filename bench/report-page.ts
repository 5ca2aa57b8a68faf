// report.html as people open it: the page of a typical run (1 node, the
// intermittent-latency captures of a busy service over 10 s) and of a 50-node
// run (report-fixture.ts, stored in Redis as workers store them, drawn through
// createReportBundle), each opened from disk in Debian's chromium (headless,
// playwright-core). Figures: the page's bytes, and Chromium's long tasks
// (PerformanceObserver "longtask") while it loads, while every node section is
// opened, while findings' evidence is opened and flame graphs are scrolled on
// screen (both drawn then), and while a flame graph is switched to bottom-up
// and searched.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { createReportBundle } from '../src/report/bundle.js';
import { connectRedis } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { analyzeStoredRun } from '../src/runs/findings.js';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { fmtMB, fmtMs, kv, note, section, table, verdict } from './report.js';
import { FULL_SIZE, writeFixtureRun, type FixtureSize } from './report-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const TARGET_BYTES = 2 * 1024 * 1024;
const TARGET_LONG_TASK_MS = 200;
const TYPICAL: FixtureSize = { ...FULL_SIZE, nodes: 1 };

interface PageFigures {
  bytes: number;
  load: number[];
  expand: number[];
  /** Opening the first 20 findings' evidence, one click each. */
  evidence: number[];
  /** Scrolling the first 10 flame graphs on screen (each drawn then). */
  scroll: number[];
  flame: number[];
}

/** Long tasks (ms) of each step, from Chromium's own PerformanceObserver. */
export async function measurePage(file: string): Promise<Omit<PageFigures, 'bytes'>> {
  const profile = mkdtempSync(join(tmpdir(), 'sherlock-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
    viewport: { width: 1360, height: 900 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // Before any page script: every long task from the first byte on.
    await page.addInitScript(
      `window.__long = []; new PerformanceObserver(function (l) { l.getEntries().forEach(function (e) { window.__long.push(e.duration); }); }).observe({ type: 'longtask', buffered: true });`,
    );
    const take = async () => (await page.evaluate(`window.__long.splice(0)`)) as number[];
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 60_000 });
    await page.waitForTimeout(500);
    const load = await take();
    await page.evaluate(`document.getElementById('expand-all').click()`);
    // Polled from here: the page's CSP allows no eval, which waitForFunction needs.
    for (const t0 = Date.now(); Date.now() - t0 < 600_000; await page.waitForTimeout(200)) {
      if ((await page.evaluate(`document.querySelectorAll('details.node:not([data-built])').length`)) === 0) break;
    }
    await page.waitForTimeout(500);
    const expand = await take();
    // A person opening findings' evidence one by one, then scrolling through flame graphs (each drawn when it comes on screen).
    const boxes = page.locator('#findings details.evidence-box > summary');
    for (let i = 0, n = Math.min(20, await boxes.count()); i < n; i++) await boxes.nth(i).click();
    await page.waitForTimeout(300);
    const evidence = await take();
    const flames = page.locator('.flame');
    for (let i = 0, n = Math.min(10, await flames.count()); i < n; i++) {
      await flames.nth(i).scrollIntoViewIfNeeded();
      await page.waitForTimeout(100);
    }
    await page.waitForTimeout(300);
    const scroll = await take();
    await page.evaluate(`(function () {
      var b = document.querySelector('.fg-view[data-view="bottom-up"]'); if (b) b.click();
      var i = document.querySelector('.fg-search'); if (i) { i.value = 'lookup'; i.dispatchEvent(new Event('input')); }
    })()`);
    await page.waitForTimeout(500);
    const flame = await take();
    return { load, expand, evidence, scroll, flame };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function pageOf(redis: ReturnType<typeof connectRedis>, size: FixtureSize, dir: string, name: string): Promise<{ file: string; bytes: number }> {
  const { run } = await writeFixtureRun(redis, size, Math.min(5, size.nodes), 3600, { nodeAnalysis: true });
  const { findings } = await analyzeStoredRun(redis, run);
  const bundle = await createReportBundle({ run, redis, loadFindings: () => Promise.resolve(findings) });
  const extract = tar.extract();
  Readable.from(bundle.stream)
    .pipe(createGunzip())
    .pipe(extract as unknown as NodeJS.WritableStream);
  let html: Buffer | undefined;
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const chunk of entry) parts.push(chunk as Buffer);
    if (entry.header.name.endsWith('/report.html')) html = Buffer.concat(parts);
  }
  await bundle.done;
  if (!html) throw new Error('the bundle has no report.html');
  const file = join(process.env.SHERLOCK_BENCH_KEEP ?? dir, `${name}.html`);
  writeFileSync(file, html);
  return { file, bytes: html.length };
}

export async function reportPage(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    note(`skipped: needs Debian's chromium at ${CHROMIUM}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-bench-report-page-'));
  const server = await startEmbeddedRedis({ dataDir: dir });
  const redis = connectRedis(server.url, 'bench-report-page');
  try {
    const rows: string[][] = [];
    const figures: Record<string, PageFigures> = {};
    for (const [label, size] of [
      ['typical (1 node)', TYPICAL],
      ['50 nodes', FULL_SIZE],
    ] as const) {
      const { file, bytes } = await pageOf(redis, size, dir, label.replace(/\W+/g, '-'));
      const measured = await measurePage(file);
      figures[label] = { bytes, ...measured };
      const worst = (xs: number[]) => (xs.length ? fmtMs(Math.max(...xs)) : 'none');
      rows.push([label, fmtMB(bytes), worst(measured.load), worst(measured.expand), worst(measured.evidence), worst(measured.scroll), worst(measured.flame)]);
    }
    section('report.html in chromium: page size and the longest task of each step');
    table(['run', 'page', 'load', 'open every node', 'open 20 evidence', 'scroll 10 graphs', 'bottom-up + search'], rows, new Set([1, 2, 3, 4, 5, 6]));
    const typical = figures['typical (1 node)']!;
    const big = figures['50 nodes']!;
    const every = (f: PageFigures) => [...f.load, ...f.expand, ...f.evidence, ...f.scroll, ...f.flame];
    kv(
      'long tasks (50 nodes)',
      every(big)
        .map((ms) => fmtMs(ms))
        .join(', ') || 'none',
    );
    verdict(typical.bytes < TARGET_BYTES, `typical page ${fmtMB(typical.bytes)} (target < ${fmtMB(TARGET_BYTES)})`);
    const longest = Math.max(0, ...every(big));
    const typicalLongest = Math.max(0, ...every(typical));
    kv('longest task / target', `${(longest / TARGET_LONG_TASK_MS).toFixed(2)}× (50 nodes), ${(typicalLongest / TARGET_LONG_TASK_MS).toFixed(2)}× (typical)`);
    verdict(longest <= TARGET_LONG_TASK_MS, `longest task on the 50-node page ${fmtMs(longest)} (target ≤ ${TARGET_LONG_TASK_MS} ms)`);
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
