// GET /v1/nodes: live workers with what they can do; a stopped worker is gone
// at once, a silent one drops out once its heartbeat is older than 15 s.
import { release } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureNames } from '../../src/captures/registry.js';
import { HEARTBEAT_INTERVAL_MS, liveNodes, NODE_TTL_MS, publishHeartbeat, pruneStaleNodes } from '../../src/nodes/registry.js';
import { keys } from '../../src/redis/keys.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { startStack, waitFor, type Stack } from './harness.js';

interface NodeView {
  name: string;
  labels: Record<string, string>;
  kernel: string;
  btf: boolean;
  captures: string[];
  busy: boolean;
  lastSeen: string;
  version: string;
}

describe('live nodes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  const listed = async (): Promise<NodeView[]> => {
    const reply = await stack.admin.get('/v1/nodes');
    expect(reply.status).toBe(200);
    return reply.body.nodes;
  };

  it('lists a started worker with its kernel, BTF and captures, and drops it at once when it stops', async () => {
    expect(await listed()).toEqual([]);
    const before = Date.now();
    await stack.startWorker('web-1');
    const nodes = await listed();
    expect(nodes).toHaveLength(1);
    const node = nodes[0]!;
    expect(node).toMatchObject({ name: 'web-1', labels: { role: 'test' }, kernel: release(), busy: false, version: '0.1.0' });
    expect(node.btf).toBe(true);
    expect(node.captures).toEqual(captureNames());
    expect(node.captures).toContain('execsnoop');
    expect(Date.parse(node.lastSeen)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(node.lastSeen)).toBeLessThanOrEqual(Date.now());

    await stack.startWorker('web-2');
    expect((await listed()).map((n) => n.name)).toEqual(['web-1', 'web-2']); // sorted by name

    await stack.stopWorker('web-1');
    expect((await listed()).map((n) => n.name)).toEqual(['web-2']); // withdrawn, not left to time out
    expect(await stack.conn.hexists(keys.nodes, 'web-1')).toBe(0);
  });

  it('keeps a heartbeating worker live, and drops one silent for more than 15 s', async () => {
    const { conn } = stack;
    expect((await listed()).map((n) => n.name)).toContain('web-2');
    // web-2 beats every 5 s; were it to fall silent now, 16 s on it would be gone.
    const now = Date.now();
    expect((await liveNodes(conn, now)).map((n) => n.name)).toContain('web-2');
    expect((await liveNodes(conn, now + NODE_TTL_MS - HEARTBEAT_INTERVAL_MS - 1_000)).map((n) => n.name)).toContain('web-2');
    expect((await liveNodes(conn, now + 16_000)).map((n) => n.name)).not.toContain('web-2');

    // A node whose last heartbeat is 16 s old (its worker was killed: no withdrawal) is not listed.
    await publishHeartbeat(
      conn,
      { name: 'silent', labels: {}, kernel: release(), btf: true, captures: ['execsnoop'], busy: false, version: '0.1.0' },
      Date.now() - 16_000,
    );
    await publishHeartbeat(
      conn,
      { name: 'recent', labels: {}, kernel: release(), btf: true, captures: ['execsnoop'], busy: false, version: '0.1.0' },
      Date.now() - 14_000,
    );
    const names = (await listed()).map((n) => n.name);
    expect(names).not.toContain('silent');
    expect(names).toContain('recent');
    // And a run cannot target it.
    const refused = await stack.admin.post('/v1/runs', { steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['silent'] } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('silent');

    // Pruning forgets stale heartbeats entirely.
    expect(await pruneStaleNodes(conn)).toEqual(['silent']);
    expect(await conn.hexists(keys.nodes, 'silent')).toBe(0);
  });

  it('reads thousands of live nodes in one visit to Redis (read in slices there)', async () => {
    const { conn } = stack;
    const fleet = Array.from({ length: 2_345 }, (_, i) => `fleet-${String(i).padStart(4, '0')}`);
    const pipeline = conn.pipeline();
    for (const name of fleet)
      pipeline
        .hset(
          keys.nodes,
          name,
          JSON.stringify({ name, labels: {}, kernel: release(), btf: true, captures: [], busy: false, version: '0.1.0', lastSeen: new Date().toISOString() }),
        )
        .zadd(keys.nodesSeen, Date.now(), name);
    await pipeline.exec();
    try {
      const live = (await liveNodes(conn)).map((n) => n.name).filter((n) => n.startsWith('fleet-'));
      expect(live).toEqual(fleet);
    } finally {
      await conn
        .multi()
        .hdel(keys.nodes, ...fleet)
        .zrem(keys.nodesSeen, ...fleet)
        .exec();
    }
  });

  it('marks a worker busy with its current run while it captures', async () => {
    const id = await stack.admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['web-2'] } });
    // Without root the capture fails at once; with root it runs 1 s. Either way the worker reports back.
    if (!kernelSkipReason()) {
      const busy = await waitFor('web-2 busy', async () => (await listed()).find((n) => n.name === 'web-2' && n.busy), { timeoutMs: 1_000, intervalMs: 20 });
      expect(busy).toMatchObject({ currentRun: id });
    }
    const run = await stack.admin.waitFinal(id, 10_000);
    expect(run.status).toBe(kernelSkipReason() ? 'failed' : 'completed');
    const node = await waitFor('web-2 idle again', async () => (await listed()).find((n) => n.name === 'web-2' && !n.busy), { timeoutMs: 5_000 });
    expect(node).not.toHaveProperty('currentRun');
  });
});
