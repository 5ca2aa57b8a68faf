// Audit entries recorded in one turn of the event loop are written in one
// pipeline on a real Redis, each caller told of its own entry. (A submission's
// own entry and run counter go with the run: test/queue/run-flow.test.ts.)
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/core/audit.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

describe('batched writes after a submission', () => {
  let server: TestRedis;
  let redis: RedisClient;

  beforeAll(async () => {
    server = await startTestRedis();
    redis = connectRedis(server.url, 'batched-writes-test', { autoPipelining: true });
  }, 30_000);

  beforeEach(async () => {
    await redis.del(keys.audit, keys.metrics);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  it('writes every audit entry of a turn, in order, each caller resolving once its entry is stored', async () => {
    const audit = new AuditLog(redis);
    let stored = 0;
    const writes = Array.from({ length: 200 }, (_, i) =>
      audit.record({ actor: 'test', action: 'run.create', subject: `run-${i}`, details: { i } }).then(async () => {
        // Resolved only once the entry (and every one before it) is stored.
        expect(await redis.xlen(keys.audit)).toBeGreaterThanOrEqual(i + 1);
        stored++;
      }),
    );
    const later = audit.record({ actor: 'test', action: 'run.cancel', subject: 'run-next-turn' });
    await Promise.all([...writes, later]);
    expect(stored).toBe(200);
    const entries = await audit.read(1000);
    expect(entries.map((e) => e.subject).reverse()).toEqual([...Array.from({ length: 200 }, (_, i) => `run-${i}`), 'run-next-turn']);
    expect(entries.at(-1)).toMatchObject({ actor: 'test', action: 'run.create', details: { i: 0 } });
  });

  it("rejects only the entries Redis refused: a wrong-type key fails the batch's commands, and the next batch is written", async () => {
    const audit = new AuditLog(redis);
    await redis.set(keys.audit, 'not a stream');
    const refused = await Promise.allSettled([1, 2, 3].map((i) => audit.record({ actor: 'test', action: 'x', subject: `s${i}` })));
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    await redis.del(keys.audit);
    await audit.record({ actor: 'test', action: 'x', subject: 'after' });
    expect((await audit.read(10)).map((e) => e.subject)).toEqual(['after']);
  });
});
