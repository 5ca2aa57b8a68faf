// Hook deliveries and chat commands counted by outcome in /metrics, through a
// real API and Redis: an alert no rule maps, a delivery with a wrong secret, a
// signed slash command, an unsigned one, and chat posts to a live and a gone response_url.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addShared } from '../../src/redis/shared-metrics.js';
import { countingPost } from '../../src/triggers/chatops/response-poster.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { redisServerChildren } from '../helpers/redis.js';
import { startResponseUrl } from '../triggers/response-url.js';
import { startStack, waitFor, type Stack } from './harness.js';

const SLACK_SECRET = 'metrics-signing-secret';
const GENERIC_SECRET = 'metrics-generic-secret';

function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`)) out.set(line.slice(name.length, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  return out;
}

describe('delivery metrics', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack([], { env: { SHERLOCK_SLACK_SIGNING_SECRET: SLACK_SECRET, SHERLOCK_GENERIC_HOOK_SECRET: GENERIC_SECRET } });
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  it('counts hook deliveries and slash commands by outcome', async () => {
    const anon = stack.admin.withToken(undefined);
    const alert = { id: 'm-1', status: 'firing', title: 'disk full', labels: { kind: 'nothing-maps-this' } };
    expect((await anon.post('/v1/hooks/generic', alert, { headers: { 'x-sherlock-secret': GENERIC_SECRET } })).status).toBe(202);
    expect((await anon.post('/v1/hooks/generic', alert, { headers: { 'x-sherlock-secret': 'wrong' } })).status).toBe(401);
    expect((await anon.post('/v1/hooks/generic', alert, { headers: { 'x-sherlock-secret': 'wrong' } })).status).toBe(401);

    const body = new URLSearchParams({ command: '/sherlock', text: 'help', user_id: 'U1', user_name: 'alice' }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const form = { rawBody: body, contentType: 'application/x-www-form-urlencoded' };
    const signed = { 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(SLACK_SECRET, ts, body) };
    expect((await anon.call('POST', '/v1/chatops/slack', { ...form, headers: signed })).status).toBe(200);
    expect((await anon.call('POST', '/v1/chatops/slack', form)).status).toBe(401);

    // Chat counts are not awaited by the reply (Slack's 3 s): wait for them.
    const text = await waitFor('the chat commands counted', async () => {
      const scraped = (await anon.get('/metrics')).text;
      return series(scraped, 'sherlock_chat_commands_total').size === 2 ? scraped : undefined;
    });
    expect(series(text, 'sherlock_hook_deliveries_total')).toEqual(
      new Map([
        ['{source="generic",outcome="rejected"}', 2],
        ['{source="generic",outcome="unmatched"}', 1],
      ]),
    );
    expect(series(text, 'sherlock_chat_commands_total')).toEqual(
      new Map([
        ['{outcome="answered"}', 1],
        ['{outcome="rejected"}', 1],
      ]),
    );
  });

  it('counts chat posts delivered and failed (a response_url that is gone)', async () => {
    const live = await startResponseUrl();
    const gone = await startResponseUrl();
    await gone.close(); // its port now refuses connections
    try {
      const post = countingPost(stack.conn);
      const signal = new AbortController().signal;
      await post(live.url, { response_type: 'in_channel', text: 'a' }, signal);
      await expect(post(gone.url, { response_type: 'in_channel', text: 'b' }, signal)).rejects.toThrow();
      expect(live.posts.map((p) => p.body.text)).toEqual(['a']);
    } finally {
      await live.close();
    }
    await addShared(stack.conn, []); // nothing to add: no round trip, no error
    const text = await waitFor('the posts counted', async () => {
      const scraped = (await stack.admin.get('/metrics')).text;
      return series(scraped, 'sherlock_chat_posts_total').size === 2 ? scraped : undefined;
    });
    expect(series(text, 'sherlock_chat_posts_total')).toEqual(
      new Map([
        ['{outcome="delivered"}', 1],
        ['{outcome="failed"}', 1],
      ]),
    );
  });
});
