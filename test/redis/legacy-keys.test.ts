// A Redis upgraded in place keeps its tokens, runs, audit log and schedules:
// keys from before the {sherlock} hash tag are renamed at the API's start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { migrateLegacyKeys, renamedKey } from '../../src/redis/legacy-keys.js';
import { startApiServer } from '../../src/server/api-server.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { Client, RETENTION_SECONDS } from '../server/harness.js';

describe('keys from before the {sherlock} hash tag', () => {
  let redis: TestRedis;
  let conn: RedisClient;

  beforeAll(async () => {
    redis = await startTestRedis();
    conn = connectRedis(redis.url, 'test');
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.dispose();
  });

  it('maps each old name to its new one', () => {
    expect(renamedKey('sherlock:tokens')).toBe('{sherlock}:tokens');
    expect(renamedKey('sherlock:run:{abc}:artifact:web-1:x.json')).toBe('{sherlock}:run:abc:artifact:web-1:x.json');
    expect(renamedKey('bull:sherlock-schedules:repeat')).toBe('bull:{sherlock}-schedules:repeat');
    expect(renamedKey('other:key')).toBeUndefined();
  });

  it('are renamed when the API starts: an old token still works, other keys are left alone', async () => {
    // Made by today's code, then put back under the old names as an older version left them.
    let api = await startApiServer({ redisUrl: redis.url, port: 0, host: '127.0.0.1', retentionSeconds: RETENTION_SECONDS });
    const { secret } = await api.tokens.create('old-admin', ['admin'], 'test');
    await api.stop();
    const current = (await conn.keys('{sherlock}:*')).filter((k) => !k.includes(':migrated:'));
    expect(current).toContain('{sherlock}:tokens');
    for (const key of current) await conn.rename(key, key.replace('{sherlock}:', 'sherlock:').replace(/^sherlock:run:([^:]+)/, 'sherlock:run:{$1}'));
    await conn.del('{sherlock}:migrated:hash-tag');
    await conn.set('unrelated:key', '1');

    api = await startApiServer({ redisUrl: redis.url, port: 0, host: '127.0.0.1', retentionSeconds: RETENTION_SECONDS });
    try {
      expect(await conn.keys('sherlock:*')).toEqual([]);
      expect(await conn.exists('{sherlock}:tokens')).toBe(1);
      expect(await conn.get('unrelated:key')).toBe('1');
      const reply = await new Client(api.url, secret).get('/v1/runs');
      expect(reply.status).toBe(200);

      // Once done, later starts do not scan again.
      await conn.set('sherlock:late', 'x');
      expect(await migrateLegacyKeys(conn as never)).toBe(0);
      expect(await conn.get('sherlock:late')).toBe('x');
    } finally {
      await api.stop();
    }
  });
});
