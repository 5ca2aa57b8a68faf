// One run fanned out to two workers on this host: both capture the same exec,
// both store their artifact, the run completes, and its SSE stream tells the
// story from run-queued to run-finished and then closes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { execMarker, readEvents, startStack, waitFor, type Stack } from './harness.js';

const skip = kernelSkipReason();

describe.skipIf(skip)(`fan-out to two workers${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack(['node-a', 'node-b']);
  });

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('runs execsnoop on node-a and node-b, stores each artifact with the marker, and streams the progress', async () => {
    const { admin } = stack;
    const marker = `sherlock-fanout-${randomUUID()}`;
    const submitted = await admin.post('/v1/runs', { steps: [{ capture: 'execsnoop' }], duration: '2s', targets: { nodes: ['node-a', 'node-b'] } });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    expect(submitted.body).toMatchObject({
      id,
      status: 'queued',
      nodes: ['node-a', 'node-b'],
      links: { self: `/v1/runs/${id}`, events: `/v1/runs/${id}/events` },
    });

    const sse = readEvents(admin, id, { timeoutMs: 20_000 });
    // Both probes live (capture-live from each node), then the exec.
    await waitFor(
      'both captures live',
      async () => {
        const { conn } = stack;
        const entries = await conn.xrange(`{sherlock}:run:${id}:events`, '-', '+');
        const live = entries.map(([, f]) => JSON.parse(f[1]!)).filter((e) => e.type === 'capture-live');
        return live.length === 2;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    expect(await execMarker(marker)).toBe(0);

    const run = await admin.waitFinal(id, 15_000);
    expect(run.status).toBe('completed');
    expect(run.requestedBy).toBe('test-admin');
    expect(Date.parse(run.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(run.startedAt!));
    for (const node of ['node-a', 'node-b']) {
      const state = run.nodes[node]!;
      expect(state.status).toBe('completed');
      expect(state.captures).toHaveLength(1);
      const summary = state.captures![0]!;
      expect(summary).toMatchObject({ capture: 'execsnoop', kind: 'events', cancelled: false, artifact: 'execsnoop.json' });
      expect(summary.error).toBeUndefined();
      expect(summary.count).toBeGreaterThan(0);
      expect(summary.durationMs).toBeGreaterThanOrEqual(1900);
      expect(summary.durationMs).toBeLessThan(4000);

      const artifact = await admin.artifact(id, node, 'execsnoop.json');
      expect(artifact.status).toBe(200);
      expect(artifact.headers.get('content-encoding')).toBe('gzip');
      expect(artifact.headers.get('content-type')).toContain('application/json');
      expect(Buffer.byteLength(artifact.text)).toBe(summary.bytes);
      const result = artifact.body as { capture: string; cancelled: boolean; events: { filename: string; argv: string[]; ppid: number }[] };
      expect(result.capture).toBe('execsnoop');
      expect(result.events).toHaveLength(summary.count);
      const seen = result.events.filter((e) => e.argv.includes(marker));
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ filename: '/bin/echo', argv: ['/bin/echo', marker], ppid: process.pid });
    }

    const missing = await admin.artifact(id, 'node-c', 'execsnoop.json');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/nodes: (node-a, node-b|node-b, node-a)$/);
    const unknown = await admin.artifact(id, 'node-a', 'nope.json');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('artifact_not_found');

    const { events, contentType } = await sse;
    expect(contentType).toContain('text/event-stream');
    const types = events.map((e) => e.event);
    expect(types[0]).toBe('run-queued');
    expect(types.at(-1)).toBe('run-finished');
    expect(events.at(-1)!.data).toMatchObject({ type: 'run-finished', status: 'completed' });
    expect(events[0]!.data.nodes).toEqual(['node-a', 'node-b']);
    const started = events
      .filter((e) => e.event === 'node-started')
      .map((e) => e.data.node)
      .sort();
    const finished = events
      .filter((e) => e.event === 'node-finished')
      .map((e) => [e.data.node, e.data.status])
      .sort();
    expect(started).toEqual(['node-a', 'node-b']);
    expect(finished).toEqual([
      ['node-a', 'completed'],
      ['node-b', 'completed'],
    ]);
    // Each node starts before it finishes; ids are the stream's, increasing.
    for (const node of ['node-a', 'node-b']) {
      expect(types.indexOf('node-started')).toBeLessThan(events.findIndex((e) => e.event === 'node-finished' && e.data.node === node));
    }
    const ids = events.map((e) => e.id);
    const streamOrder = (a: string, b: string) => {
      const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
      const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
      return am === bm ? Number(as - bs) : Number(am - bm);
    };
    expect([...ids].sort(streamOrder)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);

    // A finished run's stream replays everything and closes at once.
    const t0 = Date.now();
    const replay = await readEvents(admin, id, { timeoutMs: 5_000 });
    expect(replay.events.map((e) => e.event)).toEqual(types);
    expect(Date.now() - t0).toBeLessThan(2_000);

    // Workers report before their probes are off (detachLater): they come off just after.
    await waitFor('no BPF handles left in this process', () => bpfHandlesOf().programIds.length === 0 && bpfHandlesOf().links === 0, { timeoutMs: 2_000 });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  }, 40_000);
});
