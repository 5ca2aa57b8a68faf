// A node job's deadline keeper against a real redis-server: while it runs, the
// run's deadline keeps moving to the grace from now (never past its cap), and
// once stopped it moves no more, so the reaper fails only a job that stalled.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { RunStore } from '../../src/runs/store.js';
import { DEADLINE_STEP_MS, keepDeadline } from '../../src/worker/deadline-keeper.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('deadline keeper', () => {
  let redis: TestRedis;
  let client: RedisClient;
  let store: RunStore;
  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, 'test-deadline-keeper');
    store = new RunStore(client, { retentionSeconds: 60 });
  });
  afterAll(async () => {
    await client?.del(keys.runDeadlines);
    client?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  const deadlineOf = async (runId: string) => Number(await client.zscore(keys.runDeadlines, runId));

  it('moves the deadline on while the job works, up to its cap, and not after it stops', async () => {
    const runId = randomUUID();
    const capped = randomUUID();
    const start = Date.now();
    await store.extendDeadline(runId, start + 1_000); // the window's deadline, about to pass
    await store.extendDeadline(capped, start + 1_000);
    const keeper = keepDeadline(store, runId, { graceMs: 10_000, capMs: start + 60_000 });
    const short = keepDeadline(store, capped, { graceMs: 10_000, capMs: start + 3_000 });
    await sleep(2 * DEADLINE_STEP_MS + 300);
    const moved = await deadlineOf(runId);
    expect(moved).toBeGreaterThan(start + 1_000 + DEADLINE_STEP_MS);
    expect(moved).toBeLessThanOrEqual(Date.now() + 10_000);
    expect(await store.overdue(start + 5_000)).not.toContain(runId); // the reaper would leave it
    expect(await deadlineOf(capped)).toBe(start + 3_000); // never past its cap: a stuck job is still reaped
    await Promise.all([keeper.stop(), short.stop()]);
    const stopped = await deadlineOf(runId);
    await sleep(DEADLINE_STEP_MS + 300);
    expect(await deadlineOf(runId)).toBe(stopped);
    await client.zrem(keys.runDeadlines, runId, capped);
  }, 20_000);
});
