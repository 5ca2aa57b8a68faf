// A batch of runs written in one script call (src/queue/flow-batch.ts) leaves
// Redis as RunStore.createMany plus BullMQ's own FlowProducer would: the same
// job hashes, queue lists, parent dependencies and queue events, and a BullMQ
// worker finishing the node job releases the run's finalize job. A run whose
// record or node job cannot be written is refused alone, leaving no record,
// and neither the entry (its audit entry) nor the count that go with it.
import { randomUUID } from 'node:crypto';
import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunPlan } from '../../src/model/run.js';
import { RunFlowWriter } from '../../src/queue/flow-batch.js';
import { nodeJobId, runFlow, RunSubmitter } from '../../src/queue/run-flow.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { keys, nodeQueue, RUNS_QUEUE } from '../../src/redis/keys.js';
import { RunStore } from '../../src/runs/store.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

const plan = (nodes: string[]): RunPlan => ({ steps: [{ capture: 'execsnoop', params: {} }], durationMs: 1000, target: {}, nodes });

describe('runs written in batches by one script call', () => {
  let server: TestRedis;
  let conn: RedisClient;
  let store: RunStore;
  let writer: RunFlowWriter;
  let stock: FlowProducer;
  const queues: Queue[] = [];

  beforeAll(async () => {
    server = await startTestRedis();
    conn = connectRedis(server.url, 'run-flow-test');
    store = new RunStore(conn, { retentionSeconds: 600 });
    writer = new RunFlowWriter(conn);
    stock = new FlowProducer({ connection: conn });
  });

  afterAll(async () => {
    await Promise.all([writer?.close(), stock?.close(), ...queues.map((q) => q.close())]);
    conn?.disconnect();
    await server?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  const queue = (name: string) => {
    const q = new Queue(name, { connection: conn });
    queues.push(q);
    return q;
  };

  /** A job's hash with run ids replaced by "RUN" and times dropped, for comparing two runs' jobs. */
  const jobFields = async (queueName: string, jobId: string, runId: string) => {
    const hash = await conn.hgetall(`bull:${queueName}:${jobId}`);
    const { timestamp: _t, ...rest } = hash;
    return JSON.parse(JSON.stringify(rest).replaceAll(runId, 'RUN')) as Record<string, string>;
  };
  /** The queue events (name and job) of one run, in order, with its id replaced. */
  const eventsOf = async (queueName: string, runId: string) => {
    const entries = await conn.xrange(`bull:${queueName}:events`, '-', '+');
    return entries
      .map(([, flat]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 ? [] : [[v, flat[i + 1]!]]))))
      .filter((e) => String(e.jobId).startsWith(runId))
      .map((e) => `${e.event} ${String(e.jobId).replace(runId, 'RUN')}`);
  };

  it("stores what RunStore and BullMQ's FlowProducer store, and a worker's finished node job releases the finalize job", async () => {
    const nodes = ['flow-a', 'flow-b'];
    const batched = randomUUID();
    const reference = randomUUID();
    const refused = await writer.addEach([
      {
        recordArgs: store.newRunArgs({ id: batched, plan: plan(nodes), requestedBy: 'test', now: new Date(), firstEvent: { type: 'run-queued', nodes } }).args,
        flow: runFlow(batched, plan(nodes)),
      },
    ]);
    expect(refused.size).toBe(0);
    await store.create(reference, plan(nodes), 'test', new Date(), { type: 'run-queued', nodes });
    await stock.add(runFlow(reference, plan(nodes)));

    // The records: same fields, same first event, both listed by time.
    const [a, b] = await Promise.all([store.get(batched), store.get(reference)]);
    expect({ ...a, id: 'RUN', createdAt: 'T' }).toEqual({ ...b, id: 'RUN', createdAt: 'T' });
    const firstEvents = await Promise.all(
      [batched, reference].map(async (id) => JSON.parse((await conn.xrange(keys.runEvents(id), '-', '+'))[0]![1][1]!).type),
    );
    expect(firstEvents).toEqual(['run-queued', 'run-queued']);
    expect(await conn.zscore(keys.runsByTime, batched)).not.toBeNull();
    expect(await conn.ttl(keys.run(batched))).toBeGreaterThan(500);

    // The jobs: same hashes, same places in their queues, same parent dependencies and events.
    expect(await jobFields(RUNS_QUEUE, batched, batched)).toEqual(await jobFields(RUNS_QUEUE, reference, reference));
    for (const node of nodes) {
      expect(await jobFields(nodeQueue(node), nodeJobId(batched, node), batched)).toEqual(
        await jobFields(nodeQueue(node), nodeJobId(reference, node), reference),
      );
      expect(await eventsOf(nodeQueue(node), batched)).toEqual(await eventsOf(nodeQueue(node), reference));
      expect(await queue(nodeQueue(node)).getWaiting()).toHaveLength(2);
    }
    expect(await eventsOf(RUNS_QUEUE, batched)).toEqual(await eventsOf(RUNS_QUEUE, reference));
    const runs = queue(RUNS_QUEUE);
    const deps = async (id: string) => (await conn.smembers(`bull:${RUNS_QUEUE}:${id}:dependencies`)).map((k) => k.replace(id, 'RUN')).sort();
    expect(await deps(batched)).toEqual(await deps(reference));
    expect(await deps(batched)).toHaveLength(2);
    expect(await (await Job.fromId(runs, batched))!.getState()).toBe('waiting-children');

    // BullMQ's worker completes the node jobs: the finalize job moves to wait, as for FlowProducer's flow.
    const workers = nodes.map((node) => new Worker(nodeQueue(node), async () => 'done', { connection: { host: '127.0.0.1', port: server.port } }));
    try {
      for (let i = 0; i < 100; i++) {
        const states = await Promise.all([batched, reference].map(async (id) => (await Job.fromId(runs, id))!.getState()));
        if (states.every((s) => s === 'waiting')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await (await Job.fromId(runs, batched))!.getState()).toBe('waiting');
      expect(await (await Job.fromId(runs, reference))!.getState()).toBe('waiting');
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  }, 30_000);

  it('refuses only the run it could not store, removes what it wrote of it, skips its entry and says why', async () => {
    const [bad, good] = [randomUUID(), randomUUID()];
    // A key of the wrong type where the bad run's record goes: its HSET fails inside the script.
    await conn.set(keys.run(bad), 'not a hash');
    const runs = [bad, good].map((id) => ({
      recordArgs: store.newRunArgs({ id, plan: plan(['flow-c']), requestedBy: 'test', now: new Date(), firstEvent: { type: 'run-queued', nodes: ['flow-c'] } })
        .args,
      flow: runFlow(id, plan(['flow-c'])),
      entry: { stream: 'test-audit', fields: ['subject', id] },
      counter: { key: 'test-counters', field: 'started' },
    }));
    const refused = await writer.addEach(runs);
    expect([...refused.keys()]).toEqual([0]);
    expect(refused.get(0)!.message).toMatch(/WRONGTYPE/);
    expect(await conn.exists(keys.run(bad), keys.runEvents(bad))).toBe(0);
    expect(await conn.zscore(keys.runsByTime, bad)).toBeNull();
    expect(await conn.exists(`bull:${nodeQueue('flow-c')}:${nodeJobId(bad, 'flow-c')}`, `bull:${RUNS_QUEUE}:${bad}`)).toBe(0);
    // The entry written with a run (its audit entry) is there for the stored run only.
    expect((await conn.xrange('test-audit', '-', '+')).map(([, f]) => f[1])).toEqual([good]);
    expect(await conn.hget('test-counters', 'started')).toBe('1');
    expect((await store.get(good))?.status).toBe('queued');
    expect(await conn.exists(`bull:${nodeQueue('flow-c')}:${nodeJobId(good, 'flow-c')}`)).toBe(1);
  });

  it('a run whose node job is refused leaves no record, no entry and no count', async () => {
    const id = randomUUID();
    // A key of the wrong type where the node queue's wait list goes: BullMQ's LPUSH fails after the entry was appended.
    const wait = `bull:${nodeQueue('flow-d')}:wait`;
    await conn.set(wait, 'not a list');
    const refused = await writer.addEach([
      {
        recordArgs: store.newRunArgs({
          id,
          plan: plan(['flow-d']),
          requestedBy: 'test',
          now: new Date(),
          firstEvent: { type: 'run-queued', nodes: ['flow-d'] },
        }).args,
        flow: runFlow(id, plan(['flow-d'])),
        entry: { stream: 'test-audit-d', fields: ['subject', id] },
        counter: { key: 'test-counters', field: 'started-d' },
      },
    ]);
    expect(refused.get(0)?.message).toMatch(/WRONGTYPE/);
    expect(await conn.exists(keys.run(id), keys.runEvents(id))).toBe(0);
    expect(await conn.xlen('test-audit-d')).toBe(0);
    expect(await conn.hget('test-counters', 'started-d')).toBeNull();
    await conn.del(wait);
  });

  it('sends a second batch while the first is in Redis, and holds the rest until one is answered', async () => {
    const submitter = new RunSubmitter(conn, store);
    const busy = connectRedis(server.url, 'run-flow-busy');
    try {
      await submitter.submit(plan(['inflight']), 'test'); // the batch script loaded
      await busy.ping();
      await conn.config('RESETSTAT');
      // Redis busy for 300 ms: every batch sent meanwhile waits in it, unanswered.
      const hold = busy.eval("local s = redis.call('TIME') repeat local t = redis.call('TIME') until (t[1] - s[1]) * 1e6 + t[2] - s[2] > 300000 return 1", 0);
      await new Promise((r) => setTimeout(r, 20)); // the hold has begun
      const turns: Promise<unknown>[] = [];
      for (let turn = 0; turn < 4; turn++) {
        turns.push(submitter.submit(plan(['inflight']), 'test')); // one run per turn of the event loop
        await new Promise((r) => setTimeout(r, 20));
      }
      await hold;
      const runs = await Promise.all(turns);
      expect(new Set(runs.map((r) => (r as { id: string }).id)).size).toBe(4);
      // Turns 1 and 2 went at once, each alone; turns 3 and 4 waited and went together.
      const calls = /cmdstat_evalsha:calls=(\d+)/.exec(await conn.info('commandstats'))?.[1];
      expect(Number(calls)).toBe(3);
    } finally {
      busy.disconnect();
      await submitter.close();
    }
  });

  it('a run on thousands of nodes is stored with every node (its fields are written in slices)', async () => {
    const nodes = Array.from({ length: 1500 }, (_, i) => `wide-${i}`);
    const submitter = new RunSubmitter(conn, store);
    try {
      const run = await submitter.submit(plan(nodes), 'test');
      expect(Object.keys((await store.get(run.id))!.nodes)).toHaveLength(1500);
      expect(await conn.exists(`bull:${nodeQueue('wide-1499')}:${nodeJobId(run.id, 'wide-1499')}`)).toBe(1);
      expect(await conn.scard(`bull:${RUNS_QUEUE}:${run.id}:dependencies`)).toBe(1500);
    } finally {
      await submitter.close();
    }
  }, 30_000);
});
