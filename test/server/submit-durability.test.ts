// Nothing the API accepted is lost when it dies: many clients submit at once
// (so submissions are written in batches), a `sherlock api` child is killed
// with SIGKILL while requests are still in flight, and every run it answered
// 202 for is in Redis: its record, its run-queued event, its node job and its
// audit entry.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { freePort } from '../../src/redis/embedded.js';
import { keys, nodeQueue } from '../../src/redis/keys.js';
import { nodeJobId } from '../../src/queue/run-flow.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';
import { distSkipReason, fakeNode, sherlockBin, waitFor } from './harness.js';

const skip = distSkipReason();
const NODE = 'durable-sink';
const TOKEN = 'durability-test-admin-token-0123456789';
const CLIENTS = 48;
/** Replies before the kill: enough that batches of many runs were written. */
const KILL_AFTER = 600;
const MAX_REQUESTS = 20_000;

describe.skipIf(Boolean(skip))(`accepted runs survive the API being killed${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let redis: TestRedis;
  let conn: RedisClient;
  let api: ChildProcess | undefined;
  let node: ReturnType<typeof fakeNode> | undefined;
  let port: number;

  beforeAll(async () => {
    redis = await startTestRedis();
    conn = connectRedis(redis.url, 'durability-test');
    node = fakeNode(conn, NODE);
    await node.ready;
    port = await freePort();
    // Beyond the default per-node cap (100 waiting): this test queues many more on one node.
    const configFile = join(redis.dataDir, 'sherlock.yaml');
    writeFileSync(configFile, 'load: {maxQueuedRunsPerNode: 100000, maxQueuedRuns: 1000000}\n', { mode: 0o600 });
    api = spawn(process.execPath, [sherlockBin, 'api', '--redis', redis.url, '--port', String(port), '--config', configFile], {
      env: { ...process.env, SHERLOCK_LOG: 'error', SHERLOCK_ADMIN_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    api.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    api.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitFor('the API process', () => out.includes('listening on'), { timeoutMs: 20_000 });
  }, 40_000);

  afterAll(async () => {
    node?.stop();
    if (api && api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
    conn?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  it('every run answered 202 has its record, first event, node job and audit entry after a SIGKILL mid-load', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const body = JSON.stringify({ steps: [{ capture: 'execsnoop' }], duration: '10s', targets: { nodes: [NODE] } });
    const accepted: string[] = [];
    let refused = 0;
    let sent = 0;
    const exited = new Promise((resolve) => api!.once('exit', resolve));
    const post = () =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/runs',
            method: 'POST',
            agent,
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => (text += d));
            res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.once('error', reject);
          },
        );
        req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
        req.once('error', reject);
        req.end(body);
      });
    const client = async () => {
      while (sent < MAX_REQUESTS && api!.exitCode === null && api!.signalCode === null) {
        sent++;
        try {
          const reply = await post();
          if (reply.status === 202) accepted.push((JSON.parse(reply.text) as { id: string }).id);
          else refused++;
        } catch {
          return; // the API is gone: this request's answer never came, so it was not accepted
        }
        if (accepted.length >= KILL_AFTER && api!.exitCode === null && api!.signalCode === null) api!.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    await exited;
    agent.destroy();
    expect(api!.signalCode).toBe('SIGKILL');
    expect(refused).toBe(0);
    expect(accepted.length).toBeGreaterThanOrEqual(KILL_AFTER);

    const queue = new Queue(nodeQueue(NODE), { connection: conn });
    try {
      // Each accepted run's audit entry too: it is written in the same script call as the run.
      const audited = new Set<string>();
      for (const [, fields] of await conn.xrange(keys.audit, '-', '+')) {
        const entry = Object.fromEntries(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]]])));
        if (entry.action === 'run.create') audited.add(entry.subject!);
      }
      const missing: string[] = [];
      for (const id of accepted) {
        const [record, events, job] = await Promise.all([
          conn.hget(keys.run(id), 'status'),
          conn.xrange(keys.runEvents(id), '-', '+', 'COUNT', 1),
          queue.getJob(nodeJobId(id, NODE)),
        ]);
        const first = events[0]?.[1][1];
        if (record !== 'queued' || !first?.includes('"run-queued"') || !job || !audited.has(id)) missing.push(id);
      }
      expect(missing).toEqual([]);
    } finally {
      await queue.close();
    }
  }, 60_000);
});
