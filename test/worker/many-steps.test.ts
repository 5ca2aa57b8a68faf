// A node job of many steps (the latency runbook has 21) listens to BullMQ's
// one abort signal from each step: that is no listener leak, and node must not
// print a MaxListenersExceededWarning on the worker's stderr for it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { RunStore } from '../../src/runs/store.js';
import { runNodeJob } from '../../src/worker/run-node-job.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

const skip = kernelSkipReason();
const STEPS = ['signals', 'oomkill', 'execsnoop', 'opensnoop', 'tcplife', 'tcpreset', 'tcpretrans', 'tcpdrop', 'runqlat', 'dmesg', 'memgrowth', 'cputhrottle'];

describe.skipIf(skip)(`a node job of ${STEPS.length} steps${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let redis: TestRedis;
  let client: RedisClient;
  const runId = randomUUID();

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, 'test-many-steps');
  });
  afterAll(async () => {
    const left = await client.keys(`${keys.run(runId)}*`);
    if (left.length) await client.del(...left);
    client?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('shares the job signal without a listener-leak warning', async () => {
    const store = new RunStore(client, { retentionSeconds: 600 });
    const steps = STEPS.map((capture) => ({ capture, params: {} }));
    await store.create(runId, { steps, durationMs: 500, target: {}, nodes: ['many'] }, 'test');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const state = await runNodeJob(
        { runId, node: 'many', steps, durationMs: 500, target: {}, cpuBudgetPercent: 100 },
        { redis: client, store, retentionSeconds: 600, signal: new AbortController().signal },
      );
      expect(state.captures!.map((c) => c.capture).sort()).toEqual([...STEPS].sort());
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  }, 30_000);
});
