// Load limits with clear answers, from the config file's `load` section:
// queued runs per node and in total (429 with the reason and Retry-After),
// and cron schedules firing more often than the minimum interval (400).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, isJsonError, startStack, type Stack } from './harness.js';

describe('load limits', () => {
  let stack: Stack;
  let dir: string;
  const nodes: ReturnType<typeof fakeNode>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-load-'));
    const configFile = join(dir, 'sherlock.yaml');
    writeFileSync(configFile, 'load:\n  maxQueuedRunsPerNode: 2\n  maxQueuedRuns: 3\n', { mode: 0o600 });
    stack = await startStack([], { configFile });
    // Heartbeats only: their queues are never consumed, so every run stays queued.
    for (const name of ['load-a', 'load-b']) nodes.push(fakeNode(stack.conn, name));
    await Promise.all(nodes.map((n) => n.ready));
  }, 30_000);

  afterAll(async () => {
    for (const n of nodes) n.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  const submit = (node: string) => stack.admin.post('/v1/runs', { steps: [{ capture: 'execsnoop' }], duration: '5s', targets: { nodes: [node] } });

  it('refuses runs beyond the per-node and total queue caps with 429, the reason and Retry-After', async () => {
    expect((await submit('load-a')).status).toBe(202);
    expect((await submit('load-a')).status).toBe(202);
    const full = await submit('load-a');
    expect(full.status).toBe(429);
    expect(isJsonError(full)).toBe(true);
    expect(full.headers.get('retry-after')).toBe('30');
    expect(full.body.error.code).toBe('node_queue_full');
    expect(full.body.error.message).toContain('node load-a already has 2 runs waiting, the most a node takes (load.maxQueuedRunsPerNode = 2)');

    expect((await submit('load-b')).status).toBe(202);
    const total = await submit('load-b');
    expect(total.status).toBe(429);
    expect(total.headers.get('retry-after')).toBe('30');
    expect(total.body.error.code).toBe('too_many_runs');
    expect(total.body.error.message).toContain('3 runs are queued or running, the most this server takes (load.maxQueuedRuns = 3)');

    // Cancelling one frees a place.
    const list = (await stack.admin.get('/v1/runs?limit=10')).body.runs as { id: string }[];
    expect((await stack.admin.delete(`/v1/runs/${list[0]!.id}`)).status).toBe(202);
    expect((await submit('load-b')).status).toBe(202);
  }, 30_000);

  it('refuses a cron schedule firing more often than once a minute with 400', async () => {
    const body = { name: 'too-often', runbook: 'health-check', targets: { all: true } };
    for (const cron of ['*/2 * * * * *', '0,30 * * * * *']) {
      const reply = await stack.admin.post('/v1/schedules', { ...body, cron });
      expect(reply.status).toBe(400);
      expect(isJsonError(reply)).toBe(true);
      expect(reply.body.error.code).toBe('cron_too_frequent');
      expect(reply.body.error.message).toMatch(/fires every \d+ s; schedules may fire at most once every 60 s \(load.minScheduleIntervalSeconds\)/);
    }
    const ok = await stack.admin.post('/v1/schedules', { ...body, name: 'each-minute', cron: '* * * * *' });
    expect(ok.status).toBe(201);
    expect((await stack.admin.delete('/v1/schedules/each-minute')).status).toBeLessThan(300);
  });
});
