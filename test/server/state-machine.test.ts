// Run and node state as a state machine under faults: two API replicas, each
// with its finalizer and reaper, three worker processes of which one is killed
// and one is frozen (SIGSTOP) past its deadline and thawed after the reaper
// failed its node. No node or run ever leaves a final status, the late
// "completed" is refused, only one replica reaps at a time, and every SSE
// client (on either replica) sees each transition exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { keys, nodeQueue } from '../../src/redis/keys.js';
import { nodeJobId } from '../../src/queue/run-flow.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { RUN_GRACE_MS } from '../../src/worker/run-node-job.js';
import { kernelSkipReason } from '../helpers/kernel.js';
import { processExists, redisServerChildren } from '../helpers/redis.js';
import {
  Client,
  distSkipReason,
  readEvents,
  RETENTION_SECONDS,
  spawnWorker,
  startStack,
  waitFor,
  type ChildWorker,
  type SseEvent,
  type Stack,
} from './harness.js';

const skip = kernelSkipReason() ?? distSkipReason();
const DURATION_MS = 2000;
const FINAL = new Set(['completed', 'partial', 'failed', 'cancelled']);
const NODES = ['sm-killed', 'sm-frozen', 'sm-normal'] as const;

describe.skipIf(skip)(`run and node state under killed and frozen workers, two API replicas${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let second: ApiServer;
  const children: ChildWorker[] = [];

  beforeAll(async () => {
    stack = await startStack();
    second = await startApiServer({ redisUrl: stack.redis.url, port: 0, host: '127.0.0.1', retentionSeconds: RETENTION_SECONDS });
    for (const node of NODES) children.push(spawnWorker(node, stack.redis.url));
    await waitFor(
      'the three worker processes listed',
      async () => {
        for (const c of children) if (c.child.exitCode !== null) throw new Error(`worker ${c.node} exited: ${c.output()}`);
        const names = (await stack.admin.get('/v1/nodes')).body.nodes.map((n: { name: string }) => n.name);
        return NODES.every((n) => names.includes(n));
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }, 30_000);

  afterAll(async () => {
    for (const c of children) {
      if (c.child.exitCode === null) c.child.kill('SIGCONT');
      await c.stop('SIGKILL', 5_000);
    }
    for (const c of children) expect(processExists(c.pid)).toBe(false);
    await second?.stop();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  });

  it('keeps final states final, refuses the late worker, reaps from one replica, and emits each transition once to every SSE client', async () => {
    const { admin, conn } = stack;
    const other = new Client(second.url, stack.adminToken);
    const [killed, frozen] = children as [ChildWorker, ChildWorker, ChildWorker];
    const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: DURATION_MS, targets: { nodes: [...NODES] } });

    // Three SSE clients on each replica, from the start.
    const streams = [admin, admin, admin, other, other, other].map((c) => readEvents(c, id, { timeoutMs: 60_000 }));

    // Watch the record the whole time: a status once final must never change.
    const seen = new Map<string, string>();
    const violations: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const hash = await conn.hgetall(keys.run(id));
        const states: [string, string][] = [['run', hash.status ?? '']];
        for (const [field, value] of Object.entries(hash))
          if (field.startsWith('node:')) states.push([field, (JSON.parse(value) as { status: string }).status]);
        for (const [what, status] of states) {
          const before = seen.get(what);
          if (before && FINAL.has(before) && before !== status) violations.push(`${what}: ${before} → ${status}`);
          seen.set(what, status);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await waitFor(
      'every capture live',
      async () => {
        for (const c of children) if (c.child.exitCode !== null) throw new Error(`worker ${c.node} exited: ${c.output()}`);
        const entries = await conn.xrange(keys.runEvents(id), '-', '+');
        const live = new Set(
          entries
            .map(([, f]) => JSON.parse(f[1]!))
            .filter((e) => e.type === 'capture-live')
            .map((e) => e.node),
        );
        return NODES.every((n) => live.has(n));
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    ).catch(async (err: Error) => {
      const seen = (await conn.xrange(keys.runEvents(id), '-', '+')).map(([, f]) => f[1]).join('\n');
      throw new Error(`${err.message}; events so far:\n${seen}\nworkers: ${children.map((c) => c.output()).join(' | ')}`);
    });
    killed.child.kill('SIGKILL');
    frozen.child.kill('SIGSTOP');

    // The reaper fails both once the window plus grace has passed.
    const reaped = await admin.waitRun(
      id,
      (r) => r.nodes['sm-frozen']?.status === 'failed' && r.nodes['sm-killed']?.status === 'failed',
      'both nodes reaped',
      DURATION_MS + RUN_GRACE_MS + 10_000,
    );
    expect(reaped.nodes['sm-frozen']!.error).toMatch(/did not report back/);
    // Only one replica holds the reaper's lease.
    const holder = JSON.parse((await conn.get(keys.reaperLease))!) as { pid: number };
    expect(holder.pid).toBe(process.pid);

    // Thawed: the frozen worker finishes its capture and reports "completed", too late.
    frozen.child.kill('SIGCONT');
    const queue = new Queue(nodeQueue('sm-frozen'), { connection: { host: '127.0.0.1', port: stack.redis.port } });
    try {
      const failedReason = await waitFor(
        'the frozen worker’s job to end',
        async () => {
          const job = await queue.getJob(nodeJobId(id, 'sm-frozen'));
          return job?.failedReason || undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(failedReason).toMatch(/settled as failed before this worker reported back \(completed\)/);
    } finally {
      await queue.close();
    }

    const final = await admin.waitFinal(id, 10_000);
    expect(final.status).toBe('partial');
    expect(final.nodes['sm-normal']!.status).toBe('completed');
    expect(final.nodes['sm-frozen']!.status).toBe('failed');
    expect(final.nodes['sm-killed']!.status).toBe('failed');
    await new Promise((r) => setTimeout(r, 1500)); // anything late would land now
    watching = false;
    await watcher;
    expect(violations).toEqual([]);
    expect((await admin.run(id)).nodes['sm-frozen']!.status).toBe('failed');

    // Each transition once in the stream, and once for every SSE client on either replica.
    const transitions = (events: { type: string; node?: string; status?: string }[]) =>
      events
        .filter((e) => e.type !== 'capture-live')
        .map((e) => `${e.type}${e.node ? `:${e.node}` : ''}${e.status ? `:${e.status}` : ''}`)
        .sort();
    const stored = (await conn.xrange(keys.runEvents(id), '-', '+')).map(([, f]) => JSON.parse(f[1]!));
    const expected = [
      'node-finished:sm-frozen:failed',
      'node-finished:sm-killed:failed',
      'node-finished:sm-normal:completed',
      'node-started:sm-frozen',
      'node-started:sm-killed',
      'node-started:sm-normal',
      'run-finished:partial',
      'run-queued',
    ];
    expect(transitions(stored)).toEqual(expected);
    for (const { events } of await Promise.all(streams)) {
      expect(transitions(events.map((e: SseEvent) => ({ type: e.event, ...e.data })))).toEqual(expected);
    }
  }, 60_000);
});
