// The Slack ack while Redis is really slow (CLIENT PAUSE on the test's own
// redis-server): 200 within 3 s, a replay still refused at once, the outcome
// posted to response_url when Redis is back; and chat followers stop with the
// API process that runs them.
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/connection.js';
import { startApiServer } from '../../src/server/api-server.js';
import { MAX_POSTS, ResponsePoster } from '../../src/triggers/chatops/response-poster.js';
import { SeenSignatures } from '../../src/triggers/chatops/seen-signatures.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { redisServerChildren } from '../helpers/redis.js';
import { RETENTION_SECONDS, sleep, startStack, waitFor, type Stack } from '../server/harness.js';
import { startResponseUrl, type Posted } from './response-url.js';

const PAUSE_MS = 4000;

describe('the in-process replay cache', () => {
  it('refuses a signature seen within 5 minutes, forgets it after, and stays bounded', () => {
    const seen = new SeenSignatures(300_000, 3);
    const t0 = 1_000_000;
    expect(seen.firstTime('v0=a', t0)).toBe(true);
    expect(seen.firstTime('v0=a', t0 + 299_999)).toBe(false);
    expect(seen.firstTime('v0=a', t0 + 300_000)).toBe(true); // expired, seen afresh
    for (const s of ['v0=b', 'v0=c', 'v0=d']) expect(seen.firstTime(s, t0 + 300_001)).toBe(true);
    expect(seen.size).toBe(3); // 'v0=a', the oldest, made room
    expect(seen.firstTime('v0=d', t0 + 300_002)).toBe(false);
  });
});

describe('one response_url budget per command', () => {
  it('at most 5 posts, the last kept for the outcome, none once aborted', async () => {
    const hook = await startResponseUrl();
    try {
      const controller = new AbortController();
      const poster = new ResponsePoster(hook.url, controller.signal);
      expect(await poster.send({ response_type: 'in_channel', text: 'late answer' })).toBe(true);
      for (let i = 0; i < 5; i++) await poster.send({ response_type: 'in_channel', text: `progress ${i}` }, { final: false });
      expect(poster.remaining).toBe(1);
      expect(await poster.send({ response_type: 'in_channel', text: 'final' })).toBe(true);
      expect(await poster.send({ response_type: 'in_channel', text: 'one too many' })).toBe(false);
      expect(hook.posts.map((p) => p.body.text)).toEqual(['late answer', 'progress 0', 'progress 1', 'progress 2', 'final']);

      const stopped = new AbortController();
      const other = new ResponsePoster(hook.url, stopped.signal);
      stopped.abort();
      expect(await other.send({ response_type: 'in_channel', text: 'after stop' })).toBe(false);
      expect(hook.posts).toHaveLength(MAX_POSTS);
    } finally {
      await hook.close();
    }
  });
});

describe('POST /v1/chatops/slack while Redis is slow', () => {
  const NODE = 'slow-chat-node';
  const SECRET = 'slow-redis-signing-secret';
  let stack: Stack;
  let hook: Awaited<ReturnType<typeof startResponseUrl>> | undefined;
  let hookUrl: string;
  let posts: Posted[] = [];
  const saved = process.env.SHERLOCK_SLACK_SIGNING_SECRET;

  beforeAll(async () => {
    process.env.SHERLOCK_SLACK_SIGNING_SECRET = SECRET; // startStack's API reads its trigger settings from the environment at start
    stack = await startStack([NODE]);
    hook = await startResponseUrl();
    ({ url: hookUrl, posts } = hook);
  }, 30_000);

  afterAll(async () => {
    if (saved === undefined) delete process.env.SHERLOCK_SLACK_SIGNING_SECRET;
    else process.env.SHERLOCK_SLACK_SIGNING_SECRET = saved;
    await hook?.close();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  const form = (text: string) =>
    new URLSearchParams({
      team_id: 'T1',
      channel_id: 'C42',
      channel_name: 'ops',
      user_id: 'U7',
      user_name: 'alice',
      command: '/sherlock',
      text,
      response_url: hookUrl,
    }).toString();

  const signed = (body: string) => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(SECRET, timestamp, body) };
  };

  const send = (apiUrl: string, body: string, headers: Record<string, string>) =>
    fetch(`${apiUrl}/v1/chatops/slack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
      signal: AbortSignal.timeout(10_000),
    });

  it('acks within 3 s while Redis is paused, refuses a replay at once, then posts the run id and the result (in order, ≤ 5)', async () => {
    const pauser: RedisClient = connectRedis(stack.redis.url, 'sherlock-test-pauser');
    try {
      await pauser.ping(); // connected before the pause, so CLIENT PAUSE itself is not queued behind a handshake
      const body = form(`latency pid=${process.pid} 2s on ${NODE}`);
      const headers = signed(body);
      expect(await pauser.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL')).toBe('OK');
      const pausedAt = Date.now();

      const res = await send(stack.api.url, body, headers);
      const ackMs = Date.now() - pausedAt;
      expect(res.status).toBe(200);
      expect(ackMs).toBeLessThan(3000); // the one timing assertion: Slack's 3 s
      const ack = (await res.json()) as Posted['body'];
      expect(ack.response_type).toBe('in_channel');
      expect(ack.text).toContain('*intermittent-latency*');
      expect(ack.text).toContain(NODE);
      expect(ack.text).toMatch(/store is slow; the run id follows here/);

      const replay = await send(stack.api.url, body, headers);
      // Answered while Redis is still paused: the in-process cache, not Redis, refused it.
      const replayDoneAt = Date.now();
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { error: { message: string } }).error.message).toMatch(/replay/);
      expect(replayDoneAt - pausedAt, 'the replay was answered only after the pause ended; the test proves nothing').toBeLessThan(PAUSE_MS);
      expect(posts).toEqual([]); // nothing can be known (or posted) before Redis answers

      await waitFor('the final post', () => posts.some((p) => /finished/.test(p.body.text)), { timeoutMs: 90_000, intervalMs: 100 });
      await sleep(1500); // nothing more arrives after the final one
      expect(posts.length).toBeGreaterThanOrEqual(2);
      expect(posts.length).toBeLessThanOrEqual(MAX_POSTS);
      for (let i = 1; i < posts.length; i++) expect(posts[i]!.at).toBeGreaterThanOrEqual(posts[i - 1]!.at);

      const first = posts[0]!.body;
      expect(first.response_type).toBe('in_channel');
      const runId = /alice started \*intermittent-latency\* \(run (\S+)\) for 2s on (\S+)\./.exec(first.text);
      expect(runId, first.text).toBeTruthy();
      expect(runId![2]).toBe(NODE);
      for (const middle of posts.slice(1, -1)) expect(middle.body.text).toMatch(new RegExp(`^Run ${runId![1]} is running on 1 of 1 node`));
      expect(posts.at(-1)!.body.text).toMatch(new RegExp(`^Run ${runId![1]} \\(intermittent-latency\\) finished: \\*`));

      const run = await stack.admin.run(runId![1]!);
      expect(run.requestedBy).toBe('slack:alice (U7) in #ops');
      const runs = await stack.admin.get('/v1/runs?limit=20');
      expect(runs.body.runs.filter((r: { requestedBy: string }) => r.requestedBy.startsWith('slack:')).length).toBe(1); // the replay started nothing
    } finally {
      pauser.disconnect();
    }
  }, 120_000);

  it('a late error (an unknown node) is posted to response_url, and nothing else', async () => {
    const pauser: RedisClient = connectRedis(stack.redis.url, 'sherlock-test-pauser');
    try {
      await pauser.ping();
      const before = posts.length;
      const body = form('latency 2s on no-such-node');
      const headers = signed(body);
      expect(await pauser.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL')).toBe('OK');
      const res = await send(stack.api.url, body, headers);
      expect(res.status).toBe(200);
      expect(((await res.json()) as Posted['body']).text).toMatch(/on no-such-node… Sherlock's store is slow/);
      const late = await waitFor('the late error post', () => posts[before], { timeoutMs: 15_000, intervalMs: 100 });
      expect(late.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/^Could not start intermittent-latency: .*no-such-node/) });
      await sleep(1500);
      expect(posts.length).toBe(before + 1);
    } finally {
      pauser.disconnect();
    }
  }, 30_000);

  it('a follower of a long run stops when its API stops: it settles within the bound and posts nothing after', async () => {
    // A second API replica on the same Redis, so stopping it leaves the stack's running.
    const api = await startApiServer({
      redisUrl: stack.redis.url,
      port: 0,
      host: '127.0.0.1',
      retentionSeconds: RETENTION_SECONDS,
      env: { SHERLOCK_SLACK_SIGNING_SECRET: SECRET },
    });
    let stopped = false;
    let runId: string | undefined;
    try {
      const before = posts.length;
      const body = form(`run high-cpu pid=${process.pid} 60s on ${NODE}`);
      const res = await send(api.url, body, signed(body));
      expect(res.status).toBe(200);
      const ack = (await res.json()) as Posted['body'];
      runId = /\(run (\S+)\)/.exec(ack.text)?.[1];
      expect(runId, ack.text).toBeTruthy();
      await waitFor('the running post', () => posts.slice(before).some((p) => p.body.text.startsWith(`Run ${runId} is running`)), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(api.chatFollowers.size).toBe(1);

      await api.stop();
      stopped = true;
      expect(api.chatFollowers.size).toBe(0); // returned inside stop()'s bound, not abandoned
      const postsAtStop = posts.length;

      // Ending the run now would make a still-living follower post its final message.
      expect((await stack.admin.delete(`/v1/runs/${runId}`)).status).toBeLessThan(300);
      await stack.admin.waitFinal(runId!, 20_000);
      await sleep(1500);
      expect(posts.length).toBe(postsAtStop);
    } finally {
      if (!stopped) await api.stop();
      if (runId) await stack.admin.delete(`/v1/runs/${runId}`).catch(() => {});
    }
  }, 90_000);
});
