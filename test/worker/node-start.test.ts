// Taking a node job, against a real redis-server: a run whose cancel or stop was
// asked for before the job was taken never starts on this node (the start
// script refuses and the node is cancelled, with one node-finished and no
// node-started); a run without event steps starts and completes without a
// spool directory. cputhrottle samples cgroup files: no BPF needed.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { RunStore } from '../../src/runs/store.js';
import { runNodeJob } from '../../src/worker/run-node-job.js';
import type { NodeJobData } from '../../src/model/run.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

const NODE = 'start-node';

describe("a node job's start", () => {
  let redis: TestRedis;
  let client: RedisClient;
  let store: RunStore;
  let spoolRoot = '';
  const runIds: string[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, 'test-node-start');
    store = new RunStore(client, { retentionSeconds: 600 });
  });
  afterAll(async () => {
    for (const runId of runIds) {
      const left = await client.keys(`${keys.run(runId)}*`);
      if (left.length) await client.del(...left);
    }
    await client?.del(keys.runDeadlines);
    client?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });
  beforeEach(() => {
    spoolRoot = mkdtempSync(join(tmpdir(), 'sherlock-node-start-'));
  });
  afterEach(() => rmSync(spoolRoot, { recursive: true, force: true }));

  async function plan(durationMs: number) {
    const runId = randomUUID();
    runIds.push(runId);
    const steps = [{ capture: 'cputhrottle', params: {} }];
    await store.create(runId, { steps, durationMs, target: {}, nodes: [NODE] }, 'test');
    const job: NodeJobData = { runId, node: NODE, steps, durationMs, target: {}, cpuBudgetPercent: 100 };
    return { runId, job };
  }
  const eventTypes = async (runId: string) =>
    (await client.xrange(keys.runEvents(runId), '-', '+')).map(([, f]) => (JSON.parse(f[1]!) as { type: string; node?: string }).type);

  for (const asked of ['cancel', 'stop'] as const) {
    it(`does not start a node whose run had a ${asked} requested before the job was taken`, async () => {
      const { runId, job } = await plan(300);
      await (asked === 'cancel' ? store.requestCancel(runId) : store.requestStop(runId));
      const state = await runNodeJob(job, { redis: client, store, retentionSeconds: 600, spoolRoot });
      expect(state.status).toBe('cancelled');
      expect(state.captures).toBeUndefined(); // nothing captured
      const run = (await store.get(runId))!;
      expect(run.nodes[NODE]!.status).toBe('cancelled');
      const types = await eventTypes(runId);
      expect(types).not.toContain('node-started');
      expect(types.filter((t) => t === 'node-finished')).toHaveLength(1);
      expect(readdirSync(spoolRoot)).toEqual([]);
    });
  }

  it('starts, captures and completes a run without event steps, with no spool directory', async () => {
    const { runId, job } = await plan(300);
    let spoolDirs = -1;
    const sampler = setInterval(() => (spoolDirs = Math.max(spoolDirs, readdirSync(spoolRoot).length)), 20);
    const state = await runNodeJob(job, { redis: client, store, retentionSeconds: 600, spoolRoot }).finally(() => clearInterval(sampler));
    expect(state.status).toBe('completed');
    expect(state.captures?.[0]).toMatchObject({ capture: 'cputhrottle', artifact: 'cputhrottle.json' });
    expect(spoolDirs).toBe(0); // never made one
    const run = (await store.get(runId))!;
    expect(run.nodes[NODE]).toMatchObject({ status: 'completed', startedAt: state.startedAt });
    const types = await eventTypes(runId);
    expect(types.filter((t) => t === 'node-started')).toHaveLength(1);
    expect(types.filter((t) => t === 'node-finished')).toHaveLength(1);
  });
});
