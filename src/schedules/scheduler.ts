// Schedules: BullMQ job schedulers on one queue, each firing a job whose data
// is a POST /v1/runs body; a worker in every API process starts the run
// through startRun, as schedule:<name>. BullMQ hands each fire to one worker.
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { ApiDeps } from '../api/context.js';
import { startRun } from '../api/start-run.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ component: 'schedules' });

export const SCHEDULES_QUEUE = 'sherlock-schedules';

export interface ScheduleSpec {
  name: string;
  cron: string;
  timezone?: string;
  /** The POST /v1/runs body each fire submits. */
  request: Record<string, unknown>;
}

export interface ScheduleView extends ScheduleSpec {
  /** When it fires next (ISO), if known. */
  next?: string;
}

export class Schedules {
  readonly queue: Queue;
  private worker?: Worker;

  constructor(private readonly connection: ConnectionOptions) {
    this.queue = new Queue(SCHEDULES_QUEUE, { connection });
    this.queue.on('error', () => {}); // the shared connection reports outages
  }

  /** Starts the worker that turns each fire into a run; `deps` is the API's. */
  startWorker(deps: ApiDeps): void {
    this.worker = new Worker<Record<string, unknown>>(
      SCHEDULES_QUEUE,
      async (job) => {
        const name = job.repeatJobKey ?? job.name;
        const run = await startRun(deps, job.data, { actor: `schedule:${name}`, origin: { schedule: name } });
        return { runId: run.id };
      },
      { connection: this.connection, concurrency: 4 },
    );
    this.worker.on('failed', (job, err) => log.warn('scheduled run not started', { schedule: job?.repeatJobKey ?? job?.name, error: err.message }));
    this.worker.on('error', (err) => log.warn('schedule worker error', { error: err.message }));
  }

  async upsert(spec: ScheduleSpec): Promise<void> {
    await this.queue.upsertJobScheduler(
      spec.name,
      { pattern: spec.cron, ...(spec.timezone ? { tz: spec.timezone } : {}) },
      { name: spec.name, data: spec.request, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  async list(): Promise<ScheduleView[]> {
    const all = await this.queue.getJobSchedulers(0, 999, true);
    return all.map((s) => view(s.key, s));
  }

  async get(name: string): Promise<ScheduleView | undefined> {
    const s = await this.queue.getJobScheduler(name);
    return s ? view(name, s) : undefined;
  }

  /** false if there was no such schedule. */
  async remove(name: string): Promise<boolean> {
    return this.queue.removeJobScheduler(name);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}

function view(name: string, s: { pattern?: string | null; tz?: string | null; next?: number; template?: { data?: Record<string, unknown> } }): ScheduleView {
  return {
    name,
    cron: s.pattern ?? '',
    ...(s.tz ? { timezone: s.tz } : {}),
    request: s.template?.data ?? {},
    ...(s.next ? { next: new Date(Number(s.next)).toISOString() } : {}),
  };
}
