// Redis restarted under a queued run: the run is on disk (AOF), the API and
// the finalizer reconnect, and a worker started afterwards runs it to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/connection.js';
import { startApiServer } from '../../src/server/api-server.js';
import { startNodeWorker } from '../../src/worker/node-worker.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { distSkipReason, fakeNode, readEvents, sleep, spawnWorker, startStack, waitFor, type Stack } from './harness.js';

const skip = kernelSkipReason();

describe.skipIf(skip)(`a Redis restart${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('loses no queued run: the API reconnects and a worker started after the restart completes it', async () => {
    const { admin, redis } = stack;
    // The node looks live (heartbeats) but no worker consumes its queue yet.
    const beats = connectRedis(redis.url, 'test-heartbeats');
    const late = fakeNode(beats, 'late-node');
    let id: string;
    try {
      await late.ready;
      id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['late-node'] } });
      expect((await admin.run(id)).nodes['late-node']).toEqual({ status: 'queued', position: 1 });
    } finally {
      late.stop();
      beats.disconnect();
    }

    const oldPid = redis.pid;
    await redis.stop();
    expect(redisServerChildren()).toEqual([]);

    // While Redis is down the health check says so, promptly.
    const down = await admin.get('/healthz', { timeoutMs: 5_000 });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('redis_unreachable');

    await redis.start();
    expect(redis.pid).not.toBe(oldPid);
    const healthy = await waitFor('/healthz 200 after the restart', async () => (await admin.get('/healthz')).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(healthy).toBe(true);

    // The run and its place in the queue came back from the AOF.
    const before = await admin.run(id);
    expect(before.status).toBe('queued');
    expect(before.nodes['late-node']).toEqual({ status: 'queued', position: 1 });

    const worker = await stack.startWorker('late-node');
    expect(worker.node).toBe('late-node');
    const run = await admin.waitFinal(id, 10_000);
    expect(run.status).toBe('completed');
    expect(run.nodes['late-node']).toMatchObject({ status: 'completed', captures: [{ capture: 'execsnoop', cancelled: false, artifact: 'execsnoop.json' }] });
    expect((await admin.artifact(id, 'late-node', 'execsnoop.json')).status).toBe(200);
    const { events } = await readEvents(admin, id, { timeoutMs: 5_000 });
    expect(events.map((e) => e.event)).toEqual(['run-queued', 'node-started', 'capture-live', 'node-finished', 'run-finished']);

    // New work goes through the reconnected API and finalizer too.
    const again = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['late-node'] } });
    expect((await admin.waitFinal(again, 10_000)).status).toBe('completed');
  }, 40_000);

  it('keeps a worker that lived through the restart working, and stops it and an API at once right after', async () => {
    const { admin, redis } = stack;
    await stack.startWorker('through-node');
    await redis.stop();
    await sleep(1_500); // its connections are between reconnect attempts now
    await redis.start();
    await waitFor('/healthz 200', async () => (await admin.get('/healthz')).status === 200, { timeoutMs: 10_000, intervalMs: 100 });
    const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['through-node'] } });
    expect((await admin.waitFinal(id, 10_000)).status).toBe('completed');

    // Stopping while connections may still be between reconnect attempts must not hang.
    const api = await startApiServer({ redisUrl: redis.url, port: 0, host: '127.0.0.1', retentionSeconds: 60 });
    const worker = await startNodeWorker({ redisUrl: redis.url, node: 'brief-node', labels: {}, retentionSeconds: 60 });
    await redis.stop();
    await sleep(1_500);
    await redis.start();
    const t0 = Date.now();
    await worker.stop();
    await api.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 40_000);

  it.skipIf(distSkipReason())(
    'stops a worker process on SIGTERM while Redis is down, mid-capture, releasing its programs',
    async () => {
      const { admin, redis } = stack;
      const child = spawnWorker('down-node', redis.url);
      try {
        await waitFor('down-node live', async () => (await admin.get('/v1/nodes')).body.nodes.some((n: { name: string }) => n.name === 'down-node'), {
          timeoutMs: 20_000,
          intervalMs: 100,
        });
        // An idle in-process worker and API, stopped while Redis is down.
        const api = await startApiServer({ redisUrl: redis.url, port: 0, host: '127.0.0.1', retentionSeconds: 60 });
        const idle = await startNodeWorker({ redisUrl: redis.url, node: 'idle-node', labels: {}, retentionSeconds: 60 });

        const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '30s', targets: { nodes: ['down-node'] } });
        await admin.waitRun(id, (r) => r.nodes['down-node']?.status === 'running', 'down-node running', 10_000);
        const programIds = await waitFor(
          'down-node holding programs',
          () => {
            const ids = bpfHandlesOf(child.pid).programIds;
            return ids.length ? ids : undefined;
          },
          { timeoutMs: 5_000, intervalMs: 10 },
        );

        await redis.stop();
        const t0 = Date.now();
        await idle.stop();
        await api.stop();
        expect(Date.now() - t0).toBeLessThan(5_000);

        const t1 = Date.now();
        expect(await child.stop('SIGTERM', 20_000)).toEqual([0, null]);
        expect(Date.now() - t1).toBeLessThan(15_000); // the 10 s grace for reporting back, then it gives up
        await waitFor('down-node’s programs unloaded', () => stillLoaded(programIds).length === 0, { timeoutMs: 5_000 });
      } finally {
        await child.stop('SIGKILL', 5_000);
        if (redis.pid === undefined) await redis.start();
      }
    },
    60_000,
  );
});
