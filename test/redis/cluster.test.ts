// Sherlock unchanged on a real Redis Cluster (3 masters + 3 replicas on
// loopback): every key in the {sherlock} slot, a run fanned out to 3 workers,
// and a master killed mid-run: the replica takes over, the run in flight and
// every run accepted around the failover finish, and none is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisServerChildren } from '../helpers/redis.js';
import { startTestRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { setLogLevel } from '../../src/util/logger.js';
import { readEvents, waitFor } from '../server/harness.js';
import { cgroupRun, startHaStack, type HaStack } from './ha-stack.js';

const NODES = ['c-1', 'c-2', 'c-3'];

describe('on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let stack: HaStack;

  beforeAll(async () => {
    setLogLevel('error'); // the failover makes the clients warn by design
    cluster = await startTestRedisCluster();
    stack = await startHaStack(cluster.url, NODES);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await cluster?.dispose();
    expect(redisServerChildren()).toEqual([]);
  }, 60_000);

  it('keeps every key of Sherlock and BullMQ in the {sherlock} slot and fans a run out to 3 workers', async () => {
    const id = await stack.admin.submit(cgroupRun(NODES));
    // The API's shared SSE reader (one XREAD over every followed run) works on a cluster too.
    const sse = readEvents(stack.admin, id, { timeoutMs: 20_000 });
    const run = await stack.admin.waitFinal(id, 20_000);
    expect(run.status).toBe('completed');
    const types = (await sse).events.map((e) => e.event);
    expect(types[0]).toBe('run-queued');
    expect(types.filter((t) => t === 'node-finished')).toHaveLength(3);
    expect(types.at(-1)).toBe('run-finished');
    expect(Object.values(run.nodes).map((n) => n.status)).toEqual(['completed', 'completed', 'completed']);

    const home = await cluster.masterOf('{sherlock}');
    const masters = (await cluster.describe()).filter((n) => n.role === 'master' && !n.failed);
    expect(masters).toHaveLength(3);
    const { Redis } = await import('ioredis');
    for (const master of masters) {
      const conn = new Redis(master.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        const keys = (await conn.keys('*')) as string[];
        if (master.port === home.port) {
          expect(keys.length).toBeGreaterThan(10);
          expect(keys.some((k) => k.startsWith(`{sherlock}:run:${id}`))).toBe(true);
          expect(keys.some((k) => k.startsWith('bull:{sherlock}-node-c-1:'))).toBe(true);
        }
        // Nothing outside the one slot, on any master.
        expect(keys.filter((k) => !k.includes('{sherlock}'))).toEqual([]);
        if (master.port !== home.port) expect(keys).toEqual([]);
      } finally {
        conn.disconnect();
      }
    }
  }, 40_000);

  it('cancels a running run through the cancel channel (pub/sub on a cluster)', async () => {
    const id = await stack.admin.submit(cgroupRun(NODES, '30s'));
    await stack.admin.waitRun(id, (r) => Object.values(r.nodes).every((n) => n.status === 'running'), 'every node running', 15_000);
    const cancelled = Date.now();
    expect((await stack.admin.delete(`/v1/runs/${id}`)).status).toBe(202);
    const run = await stack.admin.waitFinal(id, 15_000);
    expect(run.status).toBe('cancelled');
    expect(Date.now() - cancelled).toBeLessThan(10_000);
  }, 40_000);

  it('loses no accepted run when the master of the {sherlock} slot is killed mid-run', async () => {
    const inFlight = await stack.admin.submit(cgroupRun(NODES, '4s'));
    await stack.admin.waitRun(inFlight, (r) => Object.values(r.nodes).every((n) => n.status === 'running'), 'every node running', 15_000);

    const master = await cluster.masterOf('{sherlock}');
    await master.kill();
    const killedAt = Date.now();

    // During the failover a submission is either accepted (and then must finish) or refused
    // with a JSON error that says so; never a hang or an HTML stack trace.
    const during = await stack.admin.post('/v1/runs', cgroupRun(NODES), { timeoutMs: 20_000 });
    expect([202, 503]).toContain(during.status);
    if (during.status !== 202) expect(during.body.error.message).toMatch(/redis/i);

    await cluster.waitHealthy(20_000);
    const promotedAfterMs = Date.now() - killedAt;
    expect((await cluster.masterOf('{sherlock}')).port).not.toBe(master.port);

    const first = await stack.admin.waitFinal(inFlight, 45_000);
    expect(first.status).toBe('completed');
    for (const node of NODES) expect(first.nodes[node]!.status).toBe('completed');
    if (during.status === 202) expect((await stack.admin.waitFinal(during.body.id, 30_000)).status).toBe('completed');

    const after = await stack.admin.submit(cgroupRun(NODES));
    expect((await stack.admin.waitFinal(after, 30_000)).status).toBe('completed');

    // Every accepted run is still listed.
    const listed = await waitFor('the runs list', async () => {
      const reply = await stack.admin.get('/v1/runs?limit=50');
      return reply.status === 200 ? (reply.body.runs as { id: string }[]).map((r) => r.id) : undefined;
    });
    for (const id of [inFlight, after, ...(during.status === 202 ? [during.body.id as string] : [])]) expect(listed).toContain(id);
    expect(promotedAfterMs).toBeLessThan(20_000);
  }, 120_000);
});
