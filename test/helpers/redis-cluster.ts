// A real Redis Cluster for a test file: 3 masters and 3 replicas, redis-server
// processes on free loopback ports (each with its own bus port), joined by
// `redis-cli --cluster create`. Masters can be killed to force a failover;
// dispose() stops every node and removes their data.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../src/redis/embedded.js';
import { startTestRedis, type TestRedis } from './redis.js';

const run = promisify(execFile);

export interface ClusterNodeInfo {
  port: number;
  role: 'master' | 'slave';
  failed: boolean;
  /** Slot ranges served, masters only. */
  slots: [number, number][];
}

export interface TestRedisCluster {
  /** REDIS_URL for Sherlock: redis+cluster://127.0.0.1:p1,... (every node a seed). */
  readonly url: string;
  readonly nodes: TestRedis[];
  /** The cluster's view from a live node. */
  describe(): Promise<ClusterNodeInfo[]>;
  /** The live master serving `key`'s slot. */
  masterOf(key: string): Promise<TestRedis>;
  /** Waits until every live node says cluster_state:ok, each slot's master is live and every replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

const NODE_TIMEOUT_MS = 1000;

export async function startTestRedisCluster(): Promise<TestRedisCluster> {
  const nodes: TestRedis[] = [];
  const clients = new Map<number, Redis>();
  const dispose = async () => {
    for (const c of clients.values()) c.disconnect();
    clients.clear();
    await Promise.all(nodes.map((n) => n.dispose()));
  };
  const client = (node: TestRedis) => {
    let c = clients.get(node.port);
    if (!c) {
      c = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => {});
      clients.set(node.port, c);
    }
    return c;
  };
  const live = () => nodes.filter((n) => n.pid !== undefined);
  const describe = async (): Promise<ClusterNodeInfo[]> => {
    const text = (await client(live()[0]!).call('CLUSTER', 'NODES')) as string;
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [, address, flags, , , , , , ...slots] = line.split(' ');
        return {
          port: Number(address!.split('@')[0]!.split(':')[1]),
          role: flags!.includes('master') ? 'master' : 'slave',
          failed: /fail(?!\?)/.test(flags!) || flags!.includes('fail?'),
          slots: slots
            .filter((s) => /^\d/.test(s))
            .map((s) => s.split('-').map(Number) as [number, number])
            .map(([a, b]) => [a, b ?? a]),
        };
      });
  };
  try {
    // A free port can be taken by another process's connect before redis binds it: a node that
    // could not start is tried again on fresh ports (the bus port too), twice at most.
    const startNode = async (): Promise<TestRedis> => {
      for (let attempt = 1; ; attempt++) {
        const bus = await freePort();
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(NODE_TIMEOUT_MS)];
        try {
          return await startTestRedis({ extraArgs: [...args, '--cluster-port', String(bus)] });
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
    };
    for (let i = 0; i < 6; i++) nodes.push(await startNode());
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      timeout: 30_000,
    });
    const cluster: TestRedisCluster = {
      url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
      nodes,
      describe,
      async masterOf(key) {
        const slot = (await client(live()[0]!).call('CLUSTER', 'KEYSLOT', key)) as number;
        const owner = (await describe()).find((n) => n.role === 'master' && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b));
        const node = nodes.find((n) => n.port === owner?.port && n.pid !== undefined);
        if (!node) throw new Error(`no live master serves slot ${slot} of ${key}`);
        return node;
      },
      async waitHealthy(timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const states = await Promise.all(live().map((n) => (client(n).call('CLUSTER', 'INFO') as Promise<string>).catch(() => '')));
          const view = await describe().catch(() => []);
          const masters = view.filter((n) => n.role === 'master' && !n.failed && n.slots.length);
          const covered = masters.reduce((sum, m) => sum + m.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
          const liveMasters = masters.every((m) => nodes.some((n) => n.port === m.port && n.pid !== undefined));
          // A replica that has not finished its first sync holds no data and would not take over.
          const replication = await Promise.all(live().map((n) => (client(n).call('INFO', 'replication') as Promise<string>).catch(() => '')));
          const synced = replication.every((r) => r.includes('role:master') || r.includes('master_link_status:up'));
          if (states.every((s) => s.includes('cluster_state:ok')) && covered === 16384 && liveMasters && synced) return;
          if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy within ${timeoutMs} ms: ${JSON.stringify(view)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      dispose,
    };
    await cluster.waitHealthy();
    return cluster;
  } catch (err) {
    await dispose();
    throw err;
  }
}
