// Where schedules are kept: BullMQ job schedulers on one queue, each firing a
// job whose data is a POST /v1/runs body. src/schedules/ turns the fires into
// runs; src/core/schedules.ts checks and audits changes.
import { Queue, type ConnectionOptions } from 'bullmq';
import { SCHEDULES_QUEUE } from '../redis/keys.js';

export { SCHEDULES_QUEUE };

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

export class ScheduleStore {
  readonly queue: Queue;

  constructor(connection: ConnectionOptions) {
    this.queue = new Queue(SCHEDULES_QUEUE, { connection });
    this.queue.on('error', () => {}); // the shared connection reports outages
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
