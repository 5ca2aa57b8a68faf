// Schedules as the application changes them: a new schedule's cron, time zone
// and run request are checked before anything is stored (a bad one would
// never fire, or fail at every fire), and every change is audited.
import { z } from 'zod';
import { Conflict, invalidInput, Invalid, NotFound } from '../model/errors.js';
import { checkCron } from '../queue/cron.js';
import type { ScheduleStore, ScheduleView } from '../queue/schedules.js';
import { runRequestSchema } from '../planner/run-request.js';
import { NODE_NAME_RULE, isValidNodeName } from '../redis/keys.js';
import type { RunbookSource } from '../runbooks/catalog.js';
import type { AuditLog } from './audit.js';

/** POST /v1/schedules: a name, when, and the run request each fire submits. */
export const scheduleInputSchema = z
  .object({
    name: z.string().refine(isValidNodeName, { message: `schedule names are ${NODE_NAME_RULE}` }),
    cron: z.string().min(1).max(200),
    timezone: z.string().min(1).max(64).optional(),
    runbook: z.string().min(1).max(100),
    params: z.record(z.string(), z.unknown()).optional(),
    targets: z.unknown(),
    duration: z.union([z.number(), z.string()]).optional(),
    target: z.unknown().optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();

export interface ScheduleServiceOptions {
  /** Absent: schedules are not enabled on this server (every call is NotFound). */
  store?: ScheduleStore;
  audit: AuditLog;
  runbooks?: RunbookSource;
}

export type ScheduleService = ReturnType<typeof createScheduleService>;

export function createScheduleService({ store, audit, runbooks }: ScheduleServiceOptions) {
  const enabled = (): ScheduleStore => {
    if (!store) throw new NotFound('schedules_disabled', 'schedules are not enabled on this server');
    return store;
  };
  const checkName = (name: string) => {
    if (!isValidNodeName(name)) throw new Invalid('invalid_name', `schedule names are ${NODE_NAME_RULE}`);
  };

  return {
    /** Stores a new schedule (Conflict if the name is taken); its next fire time is in the answer. */
    async create(input: unknown, actor: string) {
      const s = enabled();
      const parsed = scheduleInputSchema.safeParse(input);
      if (!parsed.success) throw invalidInput(parsed.error);
      const { name, cron, timezone, ...rest } = parsed.data;
      const next = checkCron(cron, timezone);
      const request = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
      const checked = runRequestSchema.safeParse(request);
      if (!checked.success) throw invalidInput(checked.error, 'run request');
      if (runbooks && !runbooks.get(rest.runbook)) {
        throw new NotFound('unknown_runbook', `no runbook ${rest.runbook}; runbooks: ${runbooks.names().join(', ')}`, { available: runbooks.names() });
      }
      if (await s.get(name)) throw new Conflict('schedule_exists', `a schedule named ${name} exists; DELETE /v1/schedules/${name} first to replace it`);
      await s.upsert({ name, cron, ...(timezone ? { timezone } : {}), request });
      await audit.record({ actor, action: 'schedule.create', subject: name, details: { cron, ...(timezone ? { timezone } : {}), request } });
      const stored = await s.get(name);
      return { name, cron, ...(timezone ? { timezone } : {}), request, next: stored?.next ?? next.toISOString() };
    },

    async list(): Promise<ScheduleView[]> {
      return enabled().list();
    },

    async get(name: string): Promise<ScheduleView> {
      checkName(name);
      const found = await enabled().get(name);
      if (!found) throw new NotFound('schedule_not_found', `no schedule named ${name}`);
      return found;
    },

    async remove(name: string, actor: string): Promise<void> {
      checkName(name);
      const s = enabled();
      const found = await s.get(name);
      if (!found || !(await s.remove(name))) throw new NotFound('schedule_not_found', `no schedule named ${name}`);
      await audit.record({ actor, action: 'schedule.delete', subject: name, details: { cron: found.cron } });
    },
  };
}
