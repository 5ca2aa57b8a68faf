// The console in headless Chromium against the real stack (Redis, the API, an
// in-process worker on the real kernel): sign in, start a runbook from its
// form (a refused value is shown beside its field), watch the run go live and
// end without touching the page, open its findings and report, cancel another
// run, and a read-only token that sees no start or cancel control and gets 403
// posting anyway. Every page is screenshot and scanned with axe-core.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { startStack, type Stack } from '../server/harness.js';
import { chromiumSkipReason, openBrowser, screenshot, screenshotsDir, seriousViolations, type Browser } from './browser.js';

const NODE = 'console-node';
const skip = kernelSkipReason() ?? chromiumSkipReason();

describe.skipIf(skip)(`the web console in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let admin: Browser;
  let base: string;
  let readerToken: string;
  let finishedRun: string;
  let cancelledRun: string;

  beforeAll(async () => {
    stack = await startStack([NODE]);
    base = stack.api.url;
    readerToken = (await stack.api.tokens.create('on-call-reader', ['runs:read'], 'test')).secret;
    admin = await openBrowser();
  }, 60_000);

  afterAll(async () => {
    await admin?.close();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  const scan = async (b: Browser, name: string) => {
    await screenshot(b.page, name);
    expect(await seriousViolations(b.page), `axe on ${name}`).toEqual([]);
  };

  it('sends a visitor to sign in, refuses a wrong token, and signs in with a right one', async () => {
    const { page } = admin;
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await scan(admin, 'login');
    await page.getByLabel('API token').fill('shk_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('unknown or revoked');
    await page.getByLabel('API token').fill(stack.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/runs`);
    const cookie = (await admin.context.cookies()).find((c) => c.name === 'sherlock_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    expect(cookie.expires).toBeGreaterThan(Date.now() / 1000 + 3600);
    await scan(admin, 'runs-empty');
  });

  it('starts a runbook from its form, shows a refused value beside its field, and follows the run live to its findings', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Start a run' }).click();
    await page.getByRole('link', { name: 'High CPU' }).waitFor();
    await scan(admin, 'start');
    await page.getByRole('link', { name: 'High CPU' }).click();
    await page.getByLabel('Duration').fill('20m');
    await page.getByLabel('these nodes:').check();
    await page.getByLabel(NODE).check();
    await page.getByRole('button', { name: /^Start high-cpu/ }).click();
    const durationError = page.locator('#f-duration-error');
    await durationError.waitFor();
    expect(await durationError.textContent()).toMatch(/exceeds the 5m limit/);
    expect(await page.getByLabel('Duration').getAttribute('aria-invalid')).toBe('true');
    await scan(admin, 'start-form-refused');

    await page.getByLabel('Duration').fill('3s');
    await page.getByLabel('reason (optional)', { exact: false }).fill('console test');
    await page.getByRole('button', { name: /^Start high-cpu/ }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    finishedRun = page.url().split('/').pop()!;
    // The page must not reload before the run ends: a mark set now survives only live updates.
    await page.evaluate('window.consoleMark = 1');
    await page.locator('#run-nodes li[data-state="live"]').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('#run-status').textContent()).toBe('running');
    expect(await page.evaluate('window.consoleMark')).toBe(1);
    await expect(page.locator('progress').count()).resolves.toBe(1);
    await screenshot(page, 'run-live');
    expect(await seriousViolations(page)).toEqual([]);

    // At the end the page reloads itself to show the findings, the bundle and the report.
    await page.locator('#findings-h').waitFor({ timeout: 30_000 });
    expect(await page.locator('#run-status').textContent()).toBe('completed');
    const order = await page.evaluate(`Array.from(document.querySelectorAll('main section h2')).map(function (h) { return h.id; })`);
    expect(order).toEqual(['findings-h', 'facts-h', 'nodes-h', 'report-h']);
    const frame = page.frameLocator('iframe.report');
    await frame.locator('html[data-ready="1"]').waitFor({ timeout: 15_000 });
    expect(await frame.locator('body').innerText()).toContain(finishedRun);
    await page.locator('iframe.report').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshotsDir, 'run-report-frame.png') });
    const download = await page.request.get(`${base}/runs/${finishedRun}/report`);
    expect(download.status()).toBe(200);
    expect(download.headers()['content-disposition']).toContain(`sherlock-${finishedRun}.tar.gz`);
    await scan(admin, 'run-finished');
  }, 90_000);

  it('cancels a run from its page', async () => {
    const { page } = admin;
    await page.goto(`${base}/start/high-cpu`);
    await page.getByLabel('Duration').fill('1m');
    await page.getByRole('button', { name: /^Start high-cpu/ }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    cancelledRun = page.url().split('/').pop()!;
    await page.locator('#run-nodes li[data-state="live"]').first().waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Cancel this run' }).click();
    await page.waitForURL(/\?cancelled$/);
    await page.locator('#findings-h').waitFor({ timeout: 20_000 });
    expect(await page.locator('#run-status').textContent()).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel this run' }).count()).toBe(0);
  }, 60_000);

  it('lists runs with filters, and shows nodes, schedules and the audit log', async () => {
    const { page } = admin;
    await page.goto(`${base}/runs?status=cancelled`);
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getAttribute('id')).toBe(`run-${cancelledRun}`);
    await page.goto(`${base}/runs?trigger=console&runbook=high-cpu`);
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.goto(`${base}/runs?trigger=schedule`);
    await expect(page.getByText('No runs match.').count()).resolves.toBe(1);
    await page.goto(`${base}/runs`);
    const utc = await page.locator(`#run-${finishedRun} time`).getAttribute('title');
    expect(utc).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    await scan(admin, 'runs');

    await page.goto(`${base}/nodes`);
    const node = page.locator('tbody tr', { hasText: NODE });
    expect(await node.locator('.status').textContent()).toBe('up');
    await scan(admin, 'nodes');

    const created = await stack.admin.post('/v1/schedules', { name: 'nightly-health', cron: '0 3 * * *', runbook: 'health-check', targets: { all: true } });
    expect(created.status).toBe(201);
    await page.goto(`${base}/schedules`);
    expect(await page.locator('tbody tr', { hasText: 'nightly-health' }).locator('time').getAttribute('datetime')).toBe(created.body.next);
    await scan(admin, 'schedules');

    await page.goto(`${base}/audit`);
    const actions = await page.locator('tbody tr td[data-label="Action"]').allTextContents();
    expect(actions).toEqual(expect.arrayContaining(['console.login', 'run.create', 'run.cancel', 'report.download']));
    await scan(admin, 'audit');
    expect(admin.errors).toEqual([]);
  }, 60_000);

  it('refuses a form without its CSRF token', async () => {
    const reply = await admin.page.request.post(`${base}/runs/${cancelledRun}/cancel`, { form: { _csrf: 'forged' } });
    expect(reply.status()).toBe(403);
    expect(await reply.text()).toContain('did not come from this console');
  });

  it('shows a read-only token no start or cancel control and answers 403 when it posts anyway', async () => {
    const going = await stack.admin.submit({ runbook: 'high-cpu', duration: '1m', targets: { nodes: [NODE] } });
    const reader = await openBrowser({ width: 390, height: 844 }); // a phone
    try {
      const { page } = reader;
      await page.goto(`${base}/runs/${going}`);
      await page.getByLabel('API token').fill(readerToken);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/runs/${going}`);
      expect(await page.getByRole('link', { name: 'Start a run' }).count()).toBe(0);
      expect(await page.getByRole('link', { name: 'Audit' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Cancel this run' }).count()).toBe(0);
      await scan(reader, 'run-read-only-phone');
      const csrf = await page.locator('form[action="/logout"] input[name=_csrf]').getAttribute('value');
      const cancel = await page.request.post(`${base}/runs/${going}/cancel`, { form: { _csrf: csrf! } });
      expect(cancel.status()).toBe(403);
      const start = await page.request.post(`${base}/start/high-cpu`, { form: { _csrf: csrf!, duration: '2s', where: 'all' } });
      expect(start.status()).toBe(403);
      expect((await stack.admin.run(going)).status).not.toBe('cancelled');
      expect((await page.goto(`${base}/audit`))!.status()).toBe(403);
      await page.goto(`${base}/runs`);
      await scan(reader, 'runs-phone');
      expect(reader.errors).toEqual([]);
    } finally {
      await reader.close();
      await stack.admin.delete(`/v1/runs/${going}`);
      await stack.admin.waitFinal(going, 20_000);
    }
  }, 60_000);

  it('signs out: the cookie goes and the session id no longer opens a page', async () => {
    const { page, context } = admin;
    const id = (await context.cookies()).find((c) => c.name === 'sherlock_session')!.value;
    await page.goto(`${base}/runs`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    expect((await context.cookies()).find((c) => c.name === 'sherlock_session')).toBeUndefined();
    const replay = await fetch(`${base}/runs`, { headers: { cookie: `sherlock_session=${id}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toMatch(/^\/login/);
  });
});
