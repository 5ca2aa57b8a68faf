// The scheduler: a worker in every API process that turns each schedule's
// fire (src/queue/schedules.ts) into a run through the core, as
// schedule:<name>. BullMQ hands each fire to one worker.
import { Worker, type ConnectionOptions } from 'bullmq';
import type { RunService } from '../core/runs.js';
import { SCHEDULES_QUEUE } from '../queue/schedules.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ component: 'schedules' });

export interface SchedulerOptions {
  connection: ConnectionOptions;
  runs: Pick<RunService, 'start'>;
  /** Fires handled at once by this process. */
  concurrency?: number;
}

export function startScheduler({ connection, runs, concurrency = 4 }: SchedulerOptions): { close(): Promise<void> } {
  const worker = new Worker<Record<string, unknown>>(
    SCHEDULES_QUEUE,
    async function fire(job) {
      const name = job.repeatJobKey ?? job.name;
      const run = await runs.start(job.data, { actor: `schedule:${name}`, origin: { schedule: name } });
      return { runId: run.id };
    },
    { connection, concurrency },
  );
  worker.on('failed', (job, err) => log.warn('scheduled run not started', { schedule: job?.repeatJobKey ?? job?.name, error: err.message }));
  worker.on('error', (err) => log.warn('schedule worker error', { error: err.message }));
  return { close: () => worker.close() };
}
