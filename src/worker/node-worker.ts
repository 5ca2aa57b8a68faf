// A host's worker: consumes its node queue one run at a time, heartbeats what
// it can do, and stops a run at once when the API publishes a cancel. It never
// listens on a port.
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { Worker, type Job } from 'bullmq';
import { captureNames } from '../captures/registry.js';
import { nodeJobId } from '../queue/run-flow.js';
import { connectRedis, settlesWithin } from '../redis/connection.js';
import { keys, nodeQueue } from '../redis/keys.js';
import { HEARTBEAT_INTERVAL_MS, publishHeartbeat, withdrawNode } from '../nodes/registry.js';
import { RunStore } from '../runs/store.js';
import type { NodeJobData } from '../model/run.js';
import { createLogger } from '../util/logger.js';
import { runNodeJob } from './run-node-job.js';

const VERSION = '0.1.0';
/** How long stop() waits for a running job to store its results and report back. */
const STOP_GRACE_MS = 10_000;

export interface NodeWorkerOptions {
  redisUrl: string;
  node: string;
  labels: Record<string, string>;
  retentionSeconds: number;
}

export interface NodeWorker {
  node: string;
  stop(): Promise<void>;
}

export async function startNodeWorker(options: NodeWorkerOptions): Promise<NodeWorker> {
  const { node } = options;
  const log = createLogger({ component: 'worker', node });
  const redis = connectRedis(options.redisUrl, `sherlock-worker-${node}`);
  const subscriber = connectRedis(options.redisUrl, `sherlock-worker-${node}-cancel`);
  const bullConnection = connectRedis(options.redisUrl, `sherlock-worker-${node}-bullmq`);
  const store = new RunStore(redis, { retentionSeconds: options.retentionSeconds });
  let currentRun: string | undefined;

  const heartbeat = () =>
    publishHeartbeat(redis, {
      name: node,
      labels: options.labels,
      kernel: release(),
      btf: existsSync('/sys/kernel/btf/vmlinux'),
      captures: captureNames(),
      busy: currentRun !== undefined,
      ...(currentRun ? { currentRun } : {}),
      version: VERSION,
    }).catch((err) => log.warn('heartbeat failed', { error: (err as Error).message }));

  const worker = new Worker<NodeJobData>(
    nodeQueue(node),
    async (job: Job<NodeJobData>, _token: string | undefined, signal: AbortSignal | undefined) => {
      const { runId } = job.data;
      currentRun = runId;
      void heartbeat();
      try {
        if (await store.cancelRequested(runId)) {
          await store.setNodeState(runId, node, { status: 'cancelled', finishedAt: new Date().toISOString() });
          return { node, status: 'cancelled' };
        }
        const state = await runNodeJob(job.data, { redis, store, retentionSeconds: options.retentionSeconds, signal });
        if (state.status === 'failed') throw new Error(state.error ?? 'every capture failed');
        return { node, status: state.status };
      } finally {
        currentRun = undefined;
        void heartbeat();
      }
    },
    // One run at a time per host; a crashed worker's job fails instead of re-running.
    { connection: bullConnection, concurrency: 1, maxStalledCount: 0 },
  );
  worker.on('error', (err) => log.warn('worker error', { error: err.message }));

  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel, runId: string) => {
    if (runId === currentRun) worker.cancelJob(nodeJobId(runId, node), 'cancelled through the API');
  });

  await heartbeat();
  const beat = setInterval(heartbeat, HEARTBEAT_INTERVAL_MS);
  log.info('worker started', { queue: nodeQueue(node) });

  return {
    node,
    async stop() {
      clearInterval(beat);
      worker.cancelAllJobs('worker stopping'); // detach now; the run keeps what was captured
      // Storing what was captured and reporting back need Redis: if it is away, stop anyway
      // (disconnecting fails the commands still waiting for it, which ends the job).
      const closed = await settlesWithin(worker.close(), STOP_GRACE_MS);
      if (redis.status === 'ready') await settlesWithin(withdrawNode(redis, node), 2_000);
      for (const connection of [subscriber, bullConnection, redis]) connection.disconnect();
      if (!closed) {
        log.warn('stopped without reporting back: Redis is unreachable', { runId: currentRun });
        await settlesWithin(worker.close(), 2_000);
      }
    },
  };
}
