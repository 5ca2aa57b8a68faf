// Signed, expiring report links in chat replies: the HMAC (altered, expired,
// another key), the settings, and end to end: a chat-started run on a real
// worker whose final post links a report a person opens without a token, while
// altered and expired links get 403 and 410; every use audited and counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReportLink, signReportLink } from '../../src/core/report-links.js';
import { Expired, Forbidden } from '../../src/model/errors.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { loadTriggerSettings, TriggerConfigError } from '../../src/triggers/settings.js';
import { kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { startStack, waitFor, type Stack } from '../server/harness.js';
import { startResponseUrl, type ResponseUrl } from './response-url.js';

const KEY = 'k'.repeat(16) + '0123456789abcdef0123';
const settings = { key: KEY, ttlMs: 3_600_000 };
const RUN = '3f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b';
const noRunbooks = { get: () => undefined, names: () => [] };

describe('report link signatures', () => {
  it('opens until it expires, for the run it was made for, with the key that made it', () => {
    const now = Date.parse('2026-12-04T08:00:00Z');
    const link = signReportLink(settings, RUN, now);
    expect(Number(link.exp)).toBe(now / 1000 + 3600);
    expect(checkReportLink(KEY, RUN, link, now + 3_599_000)).toEqual({ expiresAt: '2026-12-04T09:00:00.000Z' });
    expect(() => checkReportLink(KEY, RUN, link, now + 3_600_000)).toThrow(Expired);
    expect(() => checkReportLink(KEY, RUN, { ...link, exp: String(Number(link.exp) + 3600) }, now)).toThrow(Forbidden);
    expect(() => checkReportLink(KEY, RUN, { ...link, sig: link.sig.slice(0, -1) + (link.sig.endsWith('A') ? 'B' : 'A') }, now)).toThrow(Forbidden);
    expect(() => checkReportLink(KEY, RUN.replace('3f', '4f'), link, now)).toThrow(Forbidden);
    expect(() => checkReportLink(KEY.replace('k', 'j'), RUN, link, now)).toThrow(/signed with a key since replaced/);
    expect(() => checkReportLink(KEY, RUN, {}, now)).toThrow(Forbidden);
  });

  it('reads key, lifetime and the switch from the environment, and refuses what cannot work', () => {
    expect(loadTriggerSettings({ env: {} }, noRunbooks).reportLinks).toBeUndefined();
    expect(loadTriggerSettings({ env: { SHERLOCK_REPORT_LINK_KEY: KEY } }, noRunbooks).reportLinks).toEqual({ key: KEY, ttlMs: 24 * 3_600_000 });
    expect(loadTriggerSettings({ env: { SHERLOCK_REPORT_LINK_KEY: KEY, SHERLOCK_REPORT_LINK_TTL: '90m' } }, noRunbooks).reportLinks).toEqual({
      key: KEY,
      ttlMs: 5_400_000,
    });
    expect(loadTriggerSettings({ env: { SHERLOCK_REPORT_LINK_KEY: KEY, SHERLOCK_REPORT_LINKS: 'off' } }, noRunbooks).reportLinks).toBeUndefined();
    const refused = (env: Record<string, string>) => {
      try {
        loadTriggerSettings({ env }, noRunbooks);
      } catch (err) {
        expect(err).toBeInstanceOf(TriggerConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ SHERLOCK_REPORT_LINK_KEY: 'short' })).toMatch(/SHERLOCK_REPORT_LINK_KEY.*at least 32 characters/);
    expect(refused({ SHERLOCK_REPORT_LINK_KEY: KEY, SHERLOCK_REPORT_LINK_TTL: '90d' })).toMatch(/SHERLOCK_REPORT_LINK_TTL.*1m to 720h/);
    expect(refused({ SHERLOCK_REPORT_LINKS: 'on' })).toMatch(/no key/);
  });
});

const skip = kernelSkipReason();
const NODE = 'link-node';
const SECRET = 'link-signing-secret';

describe.skipIf(skip)(`signed report links from chat, end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let hook: ResponseUrl;

  beforeAll(async () => {
    stack = await startStack([NODE], { env: { SHERLOCK_SLACK_SIGNING_SECRET: SECRET, SHERLOCK_REPORT_LINK_KEY: KEY, SHERLOCK_REPORT_LINK_TTL: '1h' } });
    hook = await startResponseUrl();
  }, 30_000);

  afterAll(async () => {
    await hook?.close();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  it('posts a link that opens the report without a token; altered and expired links are refused and audited', async () => {
    const body = new URLSearchParams({
      command: '/sherlock',
      text: `run health-check 1s on ${NODE}`,
      user_id: 'U1',
      user_name: 'alice',
      channel_id: 'C1',
      response_url: hook.url,
    }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const anon = stack.admin.withToken(undefined);
    const ack = await anon.call('POST', '/v1/chatops/slack', {
      rawBody: body,
      contentType: 'application/x-www-form-urlencoded',
      headers: { 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(SECRET, ts, body) },
    });
    expect(ack.status).toBe(200);
    expect(ack.body.text).toMatch(/\/v1\/links\/[0-9a-f-]{36}\/report\.html\?exp=\d+&sig=/);
    const final = await waitFor('the final chat post', () => hook.posts.find((p) => /finished/.test(p.body.text)), { timeoutMs: 30_000, intervalMs: 200 });
    const page = /Report: (\S+) \(JSON: (\S+)\)/.exec(final.body.text)!;
    const [html, bundle] = [new URL(page[1]!), new URL(page[2]!)];
    const runId = html.pathname.split('/')[3]!;
    expect(Number(html.searchParams.get('exp')) * 1000 - Date.now()).toBeGreaterThan(3_500_000);

    const opened = await anon.get(html.pathname + html.search);
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toContain('text/html');
    expect(opened.headers.get('referrer-policy')).toBe('no-referrer');
    expect(opened.text).toContain(runId);
    const tar = await fetch(stack.api.url + bundle.pathname + bundle.search, { signal: AbortSignal.timeout(10_000) });
    expect(tar.status).toBe(200);
    expect(tar.headers.get('content-type')).toBe('application/gzip');
    expect(Buffer.from(await tar.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    const sig = html.searchParams.get('sig')!;
    const altered = await anon.get(`${html.pathname}?exp=${Number(html.searchParams.get('exp')) + 86_400}&sig=${sig}`);
    expect(altered.status).toBe(403);
    expect(altered.body.error.code).toBe('report_link_invalid');
    const other = await anon.get(`/v1/links/${runId.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))}/report.html${html.search}`);
    expect(other.status).toBe(403);
    const old = signReportLink({ key: KEY, ttlMs: 3_600_000 }, runId, Date.now() - 2 * 3_600_000);
    const expired = await anon.get(`/v1/links/${runId}/report.html?exp=${old.exp}&sig=${old.sig}`);
    expect(expired.status).toBe(410);
    expect(expired.body.error.message).toMatch(/expired at .*ask Sherlock for a new one/);
    expect((await anon.get(`/v1/runs/${runId}/report.html`)).status).toBe(401); // the bearer route stays closed

    const entries = (await stack.admin.get('/v1/audit?limit=100')).body.entries as Array<{
      action: string;
      actor: string;
      subject: string;
      details?: { file?: string; outcome?: string };
    }>;
    const downloads = entries.filter((e) => e.action === 'report.download' && e.subject === runId && e.actor.startsWith('signed-link'));
    expect(downloads.map((e) => e.details?.file).sort()).toEqual(['report.html', `sherlock-${runId}.tar.gz`]);
    const refused = entries.filter((e) => e.action === 'report.link.refused').map((e) => e.details?.outcome);
    expect(refused.sort()).toEqual(['expired', 'invalid', 'invalid']);

    const metrics = (await anon.get('/metrics')).text;
    expect(metrics).toContain('sherlock_report_links_total{outcome="served"} 2');
    expect(metrics).toContain('sherlock_report_links_total{outcome="invalid"} 2');
    expect(metrics).toContain('sherlock_report_links_total{outcome="expired"} 1');
    expect(metrics).toMatch(/sherlock_chat_posts_total\{outcome="delivered"\} [1-9]/);
    expect(metrics).toContain('sherlock_chat_commands_total{outcome="run"} 1');
  }, 60_000);
});
