// Settles runs. The BullMQ parent job of a run fires when every node job has
// finished or failed; the reaper covers what BullMQ cannot see: a worker that
// died mid-capture (its job stays active with nobody to fail it), by failing
// that node once the run's deadline has passed.
import { Worker, type ConnectionOptions } from 'bullmq';
import { keys, RUNS_QUEUE } from '../redis/keys.js';
import { Lease } from '../redis/lease.js';
import { settlesWithin } from '../redis/connection.js';
import { createLogger } from '../util/logger.js';
import type { RunStore } from './store.js';

const log = createLogger({ component: 'finalizer' });
const REAP_INTERVAL_MS = 1000;
/** A replica that stops renewing (it died, or lost Redis) hands the reaper on after this. */
const REAPER_LEASE_MS = 5000;

export interface Finalizer {
  stop(): Promise<void>;
}

export function startFinalizer(connection: ConnectionOptions, store: RunStore): Finalizer {
  const worker = new Worker<{ runId: string }>(
    RUNS_QUEUE,
    async (job) => {
      const run = await store.finalizeIfDone(job.data.runId);
      return { status: run?.status };
    },
    { connection, concurrency: 50 },
  );
  worker.on('error', (err) => log.warn('finalizer error', { error: err.message }));

  // One reaper at a time across every API replica: whoever holds the lease
  // (renewed every pass). Transitions are compare-and-set anyway, so a pass
  // that overlaps a lease hand-over settles nothing twice.
  const lease = new Lease(store.redis, keys.reaperLease, REAPER_LEASE_MS);
  let reaping = false;
  const reaper = setInterval(() => {
    if (reaping) return;
    reaping = true;
    lease
      .acquire()
      .then((attempt) => (attempt.held ? reapOverdueRuns(store) : undefined))
      .catch((err) => log.warn('reaper failed', { error: (err as Error).message }))
      .finally(() => (reaping = false));
  }, REAP_INTERVAL_MS);

  return {
    async stop() {
      clearInterval(reaper);
      await worker.close();
      // Hands the reaper on at once; with Redis away, its expiry does that instead.
      if (store.redis.status === 'ready')
        await settlesWithin(
          lease.release().catch(() => false),
          1_000,
        );
    },
  };
}

export async function reapOverdueRuns(store: RunStore, now = Date.now()): Promise<void> {
  for (const id of await store.overdue(now)) {
    const run = await store.get(id);
    if (!run) {
      await store.clearDeadline(id);
      continue;
    }
    for (const [node, state] of Object.entries(run.nodes)) {
      if (state.status !== 'running') continue;
      // Refused if the worker reported back since the read above: its result stands.
      const reaped = await store.finishNode(
        id,
        node,
        {
          ...state,
          status: 'failed',
          finishedAt: new Date(now).toISOString(),
          error: 'the worker did not report back within the capture window plus grace, and showed no progress since (it crashed, or its host is unreachable)',
        },
        { reason: 'timeout' },
      );
      if (reaped.moved) log.warn('node timed out', { runId: id, node });
    }
    const after = await store.finalizeIfDone(id);
    // Nodes still queued behind another run get a new deadline when they start.
    if (after && after.status !== 'running') await store.clearDeadline(id);
    else if (after && !Object.values(after.nodes).some((s) => s.status === 'running')) await store.clearDeadline(id);
  }
}
