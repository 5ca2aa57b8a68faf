// Replay-proof signatures: a timestamp more than 5 minutes from now is refused
// in both directions, and an accepted signature is remembered for as long as
// its timestamp can still be valid (10 minutes from acceptance), in memory and
// in Redis for every replica: the +295 s request replayed 305 s later is refused.
import { describe, expect, it } from 'vitest';
import { SeenSignatures } from '../../src/triggers/chatops/seen-signatures.js';
import { MAX_SKEW_SECONDS, REPLAY_MEMORY_SECONDS, slackSignature, verifySlack } from '../../src/triggers/chatops/verify.js';
import { startStack } from '../server/harness.js';

const SECRET = 'replay-secret';

describe('signed chat requests and time', () => {
  it('timestamps outside ±5 minutes are refused both ways; inside, accepted', () => {
    const now = 1_800_000_000_000;
    const at = (offsetS: number) => {
      const ts = String(now / 1000 + offsetS);
      return verifySlack(SECRET, 'text=help', slackSignature(SECRET, ts, 'text=help'), ts, now);
    };
    expect(at(-MAX_SKEW_SECONDS - 1).ok).toBe(false);
    expect(at(MAX_SKEW_SECONDS + 1).ok).toBe(false);
    expect(at(-295).ok).toBe(true);
    expect(at(295).ok).toBe(true);
  });

  it('a request dated +295 s, replayed 305 s later while its timestamp is still valid, is refused', () => {
    const seen = new SeenSignatures();
    const t0 = 1_800_000_000_000;
    const ts = String(t0 / 1000 + 295);
    const sig = slackSignature(SECRET, ts, 'text=run');
    expect(verifySlack(SECRET, 'text=run', sig, ts, t0).ok).toBe(true);
    expect(seen.firstTime(sig, t0)).toBe(true);
    const later = t0 + 305_000;
    expect(verifySlack(SECRET, 'text=run', sig, ts, later).ok).toBe(true); // the clock alone would let it in
    expect(seen.firstTime(sig, later)).toBe(false);
    // Once its timestamp is out of the window, the clock refuses it and memory may forget.
    const gone = t0 + (295 + MAX_SKEW_SECONDS + 1) * 1000;
    expect(verifySlack(SECRET, 'text=run', sig, ts, gone).ok).toBe(false);
    expect(REPLAY_MEMORY_SECONDS).toBeGreaterThanOrEqual(2 * MAX_SKEW_SECONDS);
  });

  it('across replicas: a second API process refuses a signature the first accepted, and Redis keeps it ≥ 10 minutes', async () => {
    const stack = await startStack([], { env: { SHERLOCK_SLACK_SIGNING_SECRET: SECRET } });
    const { startApiServer } = await import('../../src/server/api-server.js');
    const second = await startApiServer({
      redisUrl: stack.redis.url,
      port: 0,
      host: '127.0.0.1',
      retentionSeconds: 3600,
      env: { SHERLOCK_SLACK_SIGNING_SECRET: SECRET },
    });
    try {
      const body = new URLSearchParams({
        user_id: 'U1',
        user_name: 'a',
        channel_id: 'C1',
        channel_name: 'ops',
        command: '/sherlock',
        text: 'status no-such-run',
      }).toString();
      const ts = String(Math.floor(Date.now() / 1000) + 290);
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': slackSignature(SECRET, ts, body),
      };
      const first = await fetch(`${stack.api.url}/v1/chatops/slack`, { method: 'POST', headers, body });
      expect(first.status).toBe(200);
      const replay = await fetch(`${second.url}/v1/chatops/slack`, { method: 'POST', headers, body });
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { error: { message: string } }).error.message).toMatch(/replay|already/);
      const [key] = await stack.conn.keys('{sherlock}:chatops:seen:*');
      expect(await stack.conn.ttl(key!)).toBeGreaterThan(2 * MAX_SKEW_SECONDS - 10);
    } finally {
      await second.stop();
      await stack.stop();
    }
  }, 40_000);
});
