// The application core without HTTP: the run and schedule services on a real
// Redis and BullMQ, refusing with domain errors (no status codes), auditing
// what they do, and the same start path for every trigger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { RedisClient } from '../../src/redis/connection.js';
import { AuditLog } from '../../src/core/audit.js';
import { Conflict, DomainError, Forbidden, Invalid, NotFound, TooBusy, Unauthenticated } from '../../src/core/errors.js';
import { createRunService, type RunService } from '../../src/core/runs.js';
import { createScheduleService } from '../../src/core/schedules.js';
import { TokenStore } from '../../src/core/tokens.js';
import { NodeQueues } from '../../src/queue/node-queues.js';
import { RunSubmitter } from '../../src/queue/run-flow.js';
import { ScheduleStore } from '../../src/queue/schedules.js';
import { connectRedis } from '../../src/redis/connection.js';
import { nodeQueue, RUNS_QUEUE } from '../../src/redis/keys.js';
import { DEFAULT_LOAD_LIMITS } from '../../src/config/load-limits.js';
import { RunStore } from '../../src/runs/store.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';
import { fakeNode } from '../server/harness.js';

const NODE = 'core-node';

/** The error `promise` rejects with (the test fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, 'it should be refused').toBeInstanceOf(DomainError);
  return outcome as DomainError;
}

describe('the application core', () => {
  let redisServer: TestRedis;
  let redis: RedisClient;
  let bull: RedisClient;
  let submitter: RunSubmitter;
  let queues: NodeQueues;
  let scheduleStore: ScheduleStore;
  let runs: RunService;
  let store: RunStore;
  let audit: AuditLog;
  let node: ReturnType<typeof fakeNode>;

  beforeAll(async () => {
    redisServer = await startTestRedis();
    redis = connectRedis(redisServer.url, 'core-test');
    bull = connectRedis(redisServer.url, 'core-test-bullmq');
    store = new RunStore(redis, { retentionSeconds: 600 });
    submitter = new RunSubmitter(bull, store);
    queues = new NodeQueues(bull);
    scheduleStore = new ScheduleStore(bull);
    audit = new AuditLog(redis);
    runs = createRunService({ redis, store, submitter, audit, queues });
    node = fakeNode(redis, NODE);
    await node.ready;
  });

  afterAll(async () => {
    node?.stop();
    await Promise.all([submitter?.close(), queues?.close(), scheduleStore?.close()]);
    redis?.disconnect();
    bull?.disconnect();
    await redisServer?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  it('starts a run on the live node, audited with who asked and where from', async () => {
    const run = await runs.start(
      { steps: [{ capture: 'execsnoop' }], targets: { nodes: [NODE] }, duration: '2s' },
      { actor: 'chat:ana', origin: { channel: 'ops' } },
    );
    expect(run.status).toBe('queued');
    expect(run.plan.nodes).toEqual([NODE]);
    expect(run.plan.origin).toEqual({ channel: 'ops' });
    const [entry] = await audit.read(1);
    expect(entry).toMatchObject({
      actor: 'chat:ana',
      action: 'run.create',
      subject: run.id,
      details: { nodes: [NODE], steps: ['execsnoop'], origin: { channel: 'ops' } },
    });
    const withPositions = await runs.withQueuePositions(run.id);
    expect((withPositions.nodes[NODE] as { position?: number }).position).toBe(1);
  });

  it('refuses bad requests with domain errors that say what was wrong', async () => {
    const invalid = await rejection(runs.start({ steps: [{ capture: 'nosuch' }], targets: { all: true } }, { actor: 't' }));
    expect(invalid).toBeInstanceOf(Invalid);
    expect(invalid.message).toContain('capture must be one of');
    const notLive = await rejection(runs.start({ steps: [{ capture: 'execsnoop' }], targets: { nodes: ['gone-node'] } }, { actor: 't' }));
    expect(notLive).toBeInstanceOf(Conflict);
    expect(notLive.code).toBe('node_not_live');
    const unknown = await rejection(runs.get('00000000-0000-4000-8000-000000000000'));
    expect(unknown).toBeInstanceOf(NotFound);
    expect(await runs.find('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('plans on a node that began its heartbeats after the live nodes were last read', async () => {
    await runs.start({ steps: [{ capture: 'execsnoop' }], targets: { nodes: [NODE] } }, { actor: 't' }); // a read now reused for a second
    const newcomer = fakeNode(redis, 'core-newcomer');
    try {
      await newcomer.ready;
      const run = await runs.start({ steps: [{ capture: 'execsnoop' }], targets: { nodes: ['core-newcomer'] } }, { actor: 't' });
      expect(run.plan.nodes).toEqual(['core-newcomer']);
    } finally {
      newcomer.stop();
    }
  });

  it('holds the queue caps for runs submitted together, counting as BullMQ does', async () => {
    const busyNode = fakeNode(redis, 'core-busy');
    await busyNode.ready;
    const bullmq = new Queue(nodeQueue('core-busy'), { connection: bull });
    const finalizeJobs = new Queue(RUNS_QUEUE, { connection: bull });
    const started: { id: string }[] = [];
    const startTogether = async (service: RunService, count: number) => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: count }, () => service.start({ steps: [{ capture: 'execsnoop' }], targets: { nodes: ['core-busy'] } }, { actor: 'admin' })),
      );
      const accepted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      started.push(...accepted);
      return { accepted, refused: outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as DomainError] : [])) };
    };
    try {
      // Six at once in one batch: the cap is read in the write, so exactly two pass.
      const perNode = createRunService({ redis, store, submitter, audit, queues, limits: { ...DEFAULT_LOAD_LIMITS, maxQueuedRunsPerNode: 2 } });
      const burst = await startTogether(perNode, 6);
      expect(burst.accepted).toHaveLength(2);
      expect(await bullmq.getWaitingCount()).toBe(2);
      expect(burst.refused.map((e) => e.code)).toEqual(Array(4).fill('node_queue_full'));
      expect(burst.refused[0]).toBeInstanceOf(TooBusy);
      expect(burst.refused[0]!.message).toContain('node core-busy already has 2 runs waiting, the most a node takes (load.maxQueuedRunsPerNode = 2)');
      expect(burst.refused[0]!.details).toEqual({ nodes: ['core-busy'], maxQueuedRunsPerNode: 2 });
      // A refused run leaves nothing behind: no record, no audit entry.
      expect((await runs.list({ limit: 100 })).runs.filter((r) => r.plan.nodes[0] === 'core-busy')).toHaveLength(2);

      const unfinished = await finalizeJobs.getWaitingChildrenCount();
      const total = createRunService({ redis, store, submitter, audit, queues, limits: { ...DEFAULT_LOAD_LIMITS, maxQueuedRuns: unfinished + 1 } });
      const second = await startTogether(total, 3);
      expect(second.accepted).toHaveLength(1);
      expect(await finalizeJobs.getWaitingChildrenCount()).toBe(unfinished + 1);
      expect(second.refused.map((e) => e.code)).toEqual(['too_many_runs', 'too_many_runs']);
      expect(second.refused[0]!.message).toContain(
        `${unfinished + 1} runs are queued or running, the most this server takes (load.maxQueuedRuns = ${unfinished + 1})`,
      );
    } finally {
      for (const run of started) await runs.cancel(await runs.get(run.id), { actor: 'admin' });
      await Promise.all([bullmq.close(), finalizeJobs.close()]);
      busyNode.stop();
    }
  });

  it('cancels a queued run (its waiting job taken back) once, then says it ended', async () => {
    const run = await runs.start({ steps: [{ capture: 'execsnoop' }], targets: { nodes: [NODE] } }, { actor: 'admin' });
    const after = await runs.cancel(await runs.get(run.id), { actor: 'admin' });
    expect(after.status).toBe('cancelled');
    expect((await runs.get(run.id)).nodes[NODE]!.status).toBe('cancelled');
    const again = await rejection(runs.cancel(await runs.get(run.id), { actor: 'admin' }));
    expect(again).toBeInstanceOf(Conflict);
    expect(again.message).toContain('already ended (cancelled)');
    expect((await audit.read(5)).some((e) => e.action === 'run.cancel' && e.subject === run.id)).toBe(true);
  });

  it('checks a schedule before storing it, and refuses a second with the same name', async () => {
    const schedules = createScheduleService({ store: scheduleStore, audit });
    const badCron = await rejection(schedules.create({ name: 'nightly', cron: '* *', runbook: 'health-check', targets: { all: true } }, 'admin'));
    expect(badCron).toBeInstanceOf(Invalid);
    expect(badCron.message).toContain('write 5 (minute hour day month weekday) or 6');
    const created = await schedules.create({ name: 'nightly', cron: '0 3 * * *', runbook: 'health-check', targets: { all: true } }, 'admin');
    expect(Date.parse(created.next)).toBeGreaterThan(Date.now());
    expect(await rejection(schedules.create({ name: 'nightly', cron: '0 4 * * *', runbook: 'health-check', targets: { all: true } }, 'admin'))).toBeInstanceOf(
      Conflict,
    );
    await schedules.remove('nightly', 'admin');
    expect(await rejection(schedules.get('nightly'))).toBeInstanceOf(NotFound);
    expect(await rejection(createScheduleService({ audit }).list())).toBeInstanceOf(NotFound);
  });

  it('authorizes tokens by scope: unknown is Unauthenticated, too weak is Forbidden', async () => {
    const tokens = new TokenStore(redis);
    const { secret } = await tokens.create('reader', ['runs:read'], 'test');
    expect((await tokens.authorize(secret, 'runs:read')).name).toBe('reader');
    expect(await rejection(tokens.authorize(secret, 'runs:write'))).toBeInstanceOf(Forbidden);
    expect(await rejection(tokens.authorize('shk_nope', 'runs:read'))).toBeInstanceOf(Unauthenticated);
    expect(await rejection(tokens.authorize(undefined, 'runs:read'))).toBeInstanceOf(Unauthenticated);
  });
});
