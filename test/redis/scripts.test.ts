// Scripts run by SHA1, their body sent again when Redis has forgotten it
// (a restart, SCRIPT FLUSH); a script's own error still reaches the caller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { evalScript } from '../../src/redis/scripts.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

const INCR_BY = `return redis.call('INCRBY', KEYS[1], ARGV[1])`;

describe('evalScript', () => {
  let redis: TestRedis;
  let conn: RedisClient;

  beforeAll(async () => {
    redis = await startTestRedis();
    conn = connectRedis(redis.url, 'scripts-test');
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  it('runs by SHA1 once Redis knows the body, and sends it again after SCRIPT FLUSH', async () => {
    expect(await evalScript(conn, INCR_BY, ['scripts-test:n'], [2])).toBe(2);
    const calls = async () => Number(/cmdstat_eval:calls=(\d+)/.exec(await conn.info('commandstats'))?.[1] ?? 0);
    const evals = await calls();
    expect(await evalScript(conn, INCR_BY, ['scripts-test:n'], [3])).toBe(5);
    expect(await calls()).toBe(evals); // by SHA1 only: no body sent
    await conn.script('FLUSH');
    expect(await evalScript(conn, INCR_BY, ['scripts-test:n'], [4])).toBe(9);
    expect(await calls()).toBe(evals + 1);
    await conn.del('scripts-test:n');
  });

  it("passes a script's own error on", async () => {
    await expect(evalScript(conn, `return redis.call('NOSUCHCOMMAND')`, [], [])).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });
});
