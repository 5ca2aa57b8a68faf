// BullMQ alone, as the fleet simulation's baseline: the same number of idle
// workers on per-node queues against their own redis-server, idle Redis CPU
// over the same window, and one flow (a parent + a child per node, as a
// Sherlock run is) until every node's worker has started its job.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FlowProducer } from 'bullmq';
import type { RedisClient } from '../src/redis/connection.js';
import { sleep, stopChildren, trackChild } from './server-common.js';

export const BASELINE_STARTED = 'bench:started';
export const baselineQueue = (i: number) => `{bench}-node-${i}`;

export interface BaselineIdle {
  redisCpu: number;
  children: ChildProcess[];
}

export function spawnBaselineChild(redisUrl: string, from: number, count: number, windowMs: number, timeoutMs: number): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./fleet-sim-bullmq-worker.js', import.meta.url));
  const child = trackChild(
    spawn(process.execPath, [script, redisUrl, String(from), String(count), String(windowMs)], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baseline workers ${from}..${from + count - 1} not ready in ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`a baseline child exited (${code})`)));
  });
}

/** Submission → every one of `nodes` workers started its child job, ms. */
export async function baselineFanOut(conn: RedisClient, nodes: number): Promise<number> {
  const flows = new FlowProducer({ connection: conn });
  try {
    await conn.del(BASELINE_STARTED);
    const sent = Date.now();
    const { job } = await flows.add({
      name: 'finalize',
      queueName: '{bench}-runs',
      data: {},
      children: Array.from({ length: nodes }, (_, i) => ({ name: 'capture', queueName: baselineQueue(i), data: { i }, opts: { removeOnComplete: true } })),
    });
    const deadline = Date.now() + 60_000;
    while ((await conn.hlen(BASELINE_STARTED)) < nodes && Date.now() < deadline) await sleep(20);
    const started = Object.values(await conn.hgetall(BASELINE_STARTED)).map(Number);
    if (started.length < nodes) throw new Error(`baseline: ${started.length}/${nodes} started within 60 s (flow ${job.id})`);
    return Math.max(...started) - sent;
  } finally {
    await flows.close();
  }
}

export { stopChildren };
