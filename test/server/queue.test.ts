// One run at a time per node: runs behind a busy worker wait with their queue
// position, then run in order, never overlapping. And the run list: newest
// first, filtered, paginated without losing runs.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/runs/store.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { RETENTION_SECONDS, startStack, waitFor, type Reply, type RunView, type Stack } from './harness.js';

const skip = kernelSkipReason();
const NODE = 'queue-node';

describe.skipIf(skip)(`the per-node queue${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  const finished: RunView[] = [];

  beforeAll(async () => {
    stack = await startStack([NODE]);
  });

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('shows queued runs with positions 1 and 2 behind a busy worker, and runs them one at a time in order', async () => {
    const { admin } = stack;
    const first = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '3s', targets: { nodes: [NODE] } });
    await admin.waitRun(first, (r) => r.nodes[NODE]?.status === 'running', 'running', 5_000);
    const second = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: [NODE] } });
    const third = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: [NODE] } });

    const [r1, r2, r3] = [await admin.run(first), await admin.run(second), await admin.run(third)];
    expect(r1.status).toBe('running');
    expect(r1.nodes[NODE]!.position).toBeUndefined();
    expect(r2).toMatchObject({ status: 'queued', nodes: { [NODE]: { status: 'queued', position: 1 } } });
    expect(r3).toMatchObject({ status: 'queued', nodes: { [NODE]: { status: 'queued', position: 2 } } });
    // Busy with it within a second of its start (a started node says so 250-500 ms later, out of a fan-out's burst).
    const node = await waitFor(
      'the node busy',
      async () => (await admin.get('/v1/nodes')).body.nodes.find((n: { name: string; busy: boolean }) => n.name === NODE && n.busy),
      { timeoutMs: 1_000, intervalMs: 20 },
    );
    expect(node).toMatchObject({ busy: true, currentRun: first });

    // When the first run ends, the second moves up.
    await admin.waitRun(second, (r) => r.status !== 'queued', 'started', 8_000);
    const waiting = await admin.run(third);
    expect(waiting.nodes[NODE]).toEqual({ status: 'queued', position: 1 });

    const runs = [await admin.waitFinal(first, 10_000), await admin.waitFinal(second, 10_000), await admin.waitFinal(third, 10_000)];
    for (const run of runs) expect(run.status).toBe('completed');
    const spans = runs.map((r) => [Date.parse(r.nodes[NODE]!.startedAt!), Date.parse(r.nodes[NODE]!.finishedAt!)] as const);
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]); // never overlapping, first in first out
    }
    finished.push(...runs);
  }, 30_000);

  it('lists runs newest first, filters by status, node and runbook, and paginates', async () => {
    const { admin } = stack;
    expect(finished).toHaveLength(3);
    const ids = finished.map((r) => r.id).reverse();
    const all = await admin.get('/v1/runs');
    expect(all.status).toBe(200);
    expect(all.body.runs.map((r: RunView) => r.id)).toEqual(ids);
    expect(all.body.next).toBeUndefined();

    expect((await admin.get('/v1/runs?status=completed')).body.runs).toHaveLength(3);
    expect((await admin.get('/v1/runs?status=failed')).body.runs).toEqual([]);
    expect((await admin.get(`/v1/runs?node=${NODE}`)).body.runs).toHaveLength(3);
    expect((await admin.get('/v1/runs?node=other-node')).body.runs).toEqual([]);
    expect((await admin.get('/v1/runs?runbook=none')).body.runs).toEqual([]);
    const badStatus = await admin.get('/v1/runs?status=done');
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.message).toMatch(/status/);

    const page1 = await admin.get('/v1/runs?limit=2&status=completed');
    expect(page1.body.runs.map((r: RunView) => r.id)).toEqual(ids.slice(0, 2));
    expect(page1.body.next).toMatch(/^\/v1\/runs\?/);
    expect(page1.body.next).toContain('status=completed');
    const page2 = await admin.get(page1.body.next);
    expect(page2.body.runs.map((r: RunView) => r.id)).toEqual(ids.slice(2));
  });

  it('paginates runs created in the same millisecond without skipping any', async () => {
    const { admin, conn } = stack;
    const store = new RunStore(conn, { retentionSeconds: RETENTION_SECONDS });
    const now = new Date(Date.now() + 60_000); // newer than every other run
    const plan = { steps: [{ capture: 'execsnoop', params: {} }], durationMs: 1000, target: {}, nodes: ['same-ms'] };
    const created = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of created) await store.create(id, plan, 'test', now);

    const seen: string[] = [];
    let path: string | undefined = '/v1/runs?limit=1&node=same-ms';
    for (let page = 0; path && page < 10; page++) {
      const reply: Reply = await admin.get(path);
      expect(reply.status).toBe(200);
      seen.push(...reply.body.runs.map((r: RunView) => r.id));
      path = reply.body.next;
    }
    expect(seen.sort()).toEqual([...created].sort());
  });
});
