// Sherlock unchanged behind Redis Sentinel (a master, a replica and three
// sentinels on loopback): a run fanned out to 3 workers, then the master
// killed mid-run: the sentinels promote the replica, the clients follow, and
// the run in flight and the runs after it finish. None is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/util/logger.js';
import { redisServerChildren } from '../helpers/redis.js';
import { startTestSentinelGroup, type TestSentinelGroup } from '../helpers/redis-sentinel.js';
import { waitFor } from '../server/harness.js';
import { cgroupRun, startHaStack, type HaStack } from './ha-stack.js';

const NODES = ['s-1', 's-2', 's-3'];

describe('behind Redis Sentinel', () => {
  let group: TestSentinelGroup;
  let stack: HaStack;

  beforeAll(async () => {
    setLogLevel('error'); // the failover makes the clients warn by design
    group = await startTestSentinelGroup();
    stack = await startHaStack(group.url, NODES);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await group?.dispose();
    expect(redisServerChildren()).toEqual([]);
  }, 60_000);

  it('finds the master through the sentinels and fans a run out to 3 workers', async () => {
    const id = await stack.admin.submit(cgroupRun(NODES));
    const run = await stack.admin.waitFinal(id, 20_000);
    expect(run.status).toBe('completed');
    expect(Object.values(run.nodes).map((n) => n.status)).toEqual(['completed', 'completed', 'completed']);
  }, 30_000);

  it('loses no accepted run when the master is killed mid-run', async () => {
    const inFlight = await stack.admin.submit(cgroupRun(NODES, '4s'));
    await stack.admin.waitRun(inFlight, (r) => Object.values(r.nodes).every((n) => n.status === 'running'), 'every node running', 15_000);
    const old = await group.master();
    await old.kill();

    const during = await stack.admin.post('/v1/runs', cgroupRun(NODES), { timeoutMs: 30_000 });
    expect([202, 503]).toContain(during.status);
    if (during.status !== 202) expect(during.body.error.message).toMatch(/redis/i);

    const promoted = await waitFor(
      'the sentinels to promote the replica',
      async () => {
        const port = await group.masterPort();
        return port !== old.port ? port : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(group.servers.map((s) => s.port)).toContain(promoted);

    const first = await stack.admin.waitFinal(inFlight, 45_000);
    expect(first.status).toBe('completed');
    for (const node of NODES) expect(first.nodes[node]!.status).toBe('completed');
    if (during.status === 202) expect((await stack.admin.waitFinal(during.body.id, 30_000)).status).toBe('completed');

    const after = await stack.admin.submit(cgroupRun(NODES));
    expect((await stack.admin.waitFinal(after, 30_000)).status).toBe('completed');
    const reply = await stack.admin.get('/v1/runs?limit=50');
    const listed = (reply.body.runs as { id: string }[]).map((r) => r.id);
    for (const id of [inFlight, after, ...(during.status === 202 ? [during.body.id as string] : [])]) expect(listed).toContain(id);
  }, 120_000);
});
