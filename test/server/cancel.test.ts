// DELETE /v1/runs/:id: a running capture detaches at once and keeps what it
// saw; a run still queued behind another never runs; a finished run is 409.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { execMarker, sleep, startStack, waitFor, type Stack } from './harness.js';

const skip = kernelSkipReason();
const NODE = 'cancel-node';

describe.skipIf(skip)(`cancelling runs${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack([NODE]);
  });

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  /** Waits until the run's capture reported its probes attached (capture-live). */
  const waitLive = (id: string) =>
    waitFor(
      'capture-live',
      async () => {
        const entries = await stack.conn.xrange(`{sherlock}:run:${id}:events`, '-', '+');
        return entries.some(([, f]) => JSON.parse(f[1]!).type === 'capture-live');
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );

  it('stops a running capture within a few seconds, keeping the events captured so far', async () => {
    const { admin } = stack;
    const marker = `sherlock-cancel-${randomUUID()}`;
    const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '30s', targets: { nodes: [NODE] } });
    await admin.waitRun(id, (r) => r.status === 'running', 'running', 5_000);
    await waitLive(id);
    expect(bpfHandlesOf().links).toBeGreaterThan(0);
    expect(await execMarker(marker)).toBe(0);
    await sleep(100); // the worker drains every 10 ms

    const t0 = Date.now();
    const cancel = await admin.delete(`/v1/runs/${id}`);
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({ id, cancelRequested: true });
    const run = await admin.waitFinal(id, 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(run.status).toBe('cancelled');

    const node = run.nodes[NODE]!;
    expect(node.status).toBe('cancelled');
    const summary = node.captures![0]!;
    expect(summary).toMatchObject({ capture: 'execsnoop', cancelled: true, artifact: 'execsnoop.json' });
    expect(summary.durationMs).toBeLessThan(10_000);
    expect(summary.count).toBeGreaterThan(0);
    const artifact = await admin.artifact(id, NODE, 'execsnoop.json');
    expect(artifact.status).toBe(200);
    expect(artifact.body.cancelled).toBe(true);
    expect(artifact.body.events.filter((e: { argv: string[] }) => e.argv.includes(marker))).toHaveLength(1);

    await waitFor('no BPF handles left in this process', () => bpfHandlesOf().programIds.length === 0 && bpfHandlesOf().links === 0, { timeoutMs: 2_000 });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });

    const again = await admin.delete(`/v1/runs/${id}`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'run_finished' });
    expect(again.body.error.message).toContain('cancelled');
  }, 30_000);

  it('cancels a run queued behind another without ever running it', async () => {
    const { admin, conn } = stack;
    const busy = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '30s', targets: { nodes: [NODE] } });
    await admin.waitRun(busy, (r) => r.status === 'running', 'running', 5_000);
    const queued = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: [NODE] } });
    expect((await admin.run(queued)).nodes[NODE]).toEqual({ status: 'queued', position: 1 });

    const cancel = await admin.delete(`/v1/runs/${queued}`);
    expect(cancel.status).toBe(202);
    expect(cancel.body.status).toBe('cancelled'); // settled at once: nothing was running
    const run = await admin.run(queued);
    expect(run.status).toBe('cancelled');
    expect(run.nodes[NODE]!.status).toBe('cancelled');
    expect(run.nodes[NODE]!.startedAt).toBeUndefined();
    expect(run.startedAt).toBeUndefined();

    // Free the worker; the cancelled run must not start after the busy one.
    expect((await admin.delete(`/v1/runs/${busy}`)).status).toBe(202);
    expect((await admin.waitFinal(busy, 5_000)).status).toBe('cancelled');
    const next = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: [NODE] } });
    const done = await admin.waitFinal(next, 10_000);
    expect(done.status).toBe('completed');

    const after = await admin.run(queued);
    expect(after.nodes[NODE]).toMatchObject({ status: 'cancelled' });
    expect(after.nodes[NODE]!.startedAt).toBeUndefined();
    // Never started: its one node transition is queued → cancelled.
    const events = (await conn.xrange(`{sherlock}:run:${queued}:events`, '-', '+'))
      .map(([, f]) => JSON.parse(f[1]!))
      .map((e) => e.type + (e.status ? `:${e.status}` : ''));
    expect(events).toEqual(['run-queued', 'node-finished:cancelled', 'run-finished:cancelled']);
    expect((await admin.artifact(queued, NODE, 'execsnoop.json')).status).toBe(404);

    // A completed run cannot be cancelled either.
    const late = await admin.delete(`/v1/runs/${next}`);
    expect(late.status).toBe(409);
    expect(late.body.error.message).toContain('completed');
    // A worker reports before its probes are off (detachLater): they come off just after.
    await waitFor('no BPF handles left in this process', () => bpfHandlesOf().programIds.length === 0 && bpfHandlesOf().links === 0, { timeoutMs: 2_000 });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  }, 30_000);

  it('answers 404 for cancelling a run that does not exist', async () => {
    const reply = await stack.admin.delete(`/v1/runs/${randomUUID()}`);
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('run_not_found');
  });
});
