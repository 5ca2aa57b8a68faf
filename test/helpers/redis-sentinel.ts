// A real Sentinel group for a test file: a master and a replica (redis-server
// on free loopback ports) watched by three sentinels (`redis-server --sentinel`,
// quorum 2). The master can be killed to force a failover; dispose() stops
// every process and removes their data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/redis/embedded.js';
import { startTestRedis, type TestRedis } from './redis.js';

export const MASTER_NAME = 'sherlock-test';

export interface TestSentinelGroup {
  /** REDIS_URL for Sherlock: redis+sentinel://127.0.0.1:s1,.../sherlock-test */
  readonly url: string;
  readonly servers: TestRedis[];
  /** The port the sentinels name as master now. */
  masterPort(): Promise<number>;
  /** The server that is master now. */
  master(): Promise<TestRedis>;
  dispose(): Promise<void>;
}

const sentinels = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of sentinels) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export async function startTestSentinelGroup(): Promise<TestSentinelGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-sentinel-'));
  const servers: TestRedis[] = [];
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const dispose = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await Promise.all(servers.map((s) => s.dispose()));
    rmSync(dir, { recursive: true, force: true });
  };
  const masterPort = async () => {
    for (const port of ports) {
      const conn = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
      conn.on('error', () => {});
      try {
        const reply = (await conn.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME)) as [string, string] | null;
        if (reply) return Number(reply[1]);
      } catch {
        // ask the next sentinel
      } finally {
        conn.disconnect();
      }
    }
    throw new Error('no sentinel answers');
  };
  try {
    const master = await startTestRedis();
    servers.push(master);
    servers.push(await startTestRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] }));
    await waitUntil('the replica in sync', async () => {
      const conn = new Redis(servers[1]!.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
      try {
        return ((await conn.info('replication')) as string).includes('master_link_status:up');
      } finally {
        conn.disconnect();
      }
    });
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `logfile ${join(dir, `sentinel-${i}.log`)}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
      sentinels.add(child);
      child.once('exit', () => sentinels.delete(child));
      children.push(child);
      ports.push(port);
    }
    // Every sentinel knows the master, the replica and the other two sentinels.
    await waitUntil('the sentinels to see each other and the replica', async () => {
      for (const port of ports) {
        const conn = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
        conn.on('error', () => {});
        try {
          const info = (await conn.call('SENTINEL', 'master', MASTER_NAME)) as string[];
          const field = (name: string) => Number(info[info.indexOf(name) + 1]);
          if (field('num-other-sentinels') < 2 || field('num-slaves') < 1) return false;
        } catch {
          return false;
        } finally {
          conn.disconnect();
        }
      }
      return true;
    });
    return {
      url: `redis+sentinel://${ports.map((p) => `127.0.0.1:${p}`).join(',')}/${MASTER_NAME}`,
      servers,
      masterPort,
      async master() {
        const port = await masterPort();
        const server = servers.find((s) => s.port === port && s.pid !== undefined);
        if (!server) throw new Error(`the sentinels name ${port} as master, which is not running`);
        return server;
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
