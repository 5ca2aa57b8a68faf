// What the admin and schedule routes answer: tokens, the audit log, schedules.
import { z } from 'zod';
import { SCOPES } from '../../core/tokens.js';
import { isoTime, jsonObject, named } from './common.js';

const tokenFields = {
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  createdAt: isoTime,
  createdBy: z.string(),
  revokedAt: isoTime.optional(),
};
export const TokenRecord = named('Token', 'a token without its secret', z.object(tokenFields));
export const CreatedToken = named('CreatedToken', 'a new token; `token` is the secret, shown this once', z.object({ ...tokenFields, token: z.string() }));
export const TokenList = named('TokenList', 'every token, revoked ones included', z.object({ tokens: z.array(TokenRecord) }));

export const AuditEntry = named(
  'AuditEntry',
  'who did what to which subject, when',
  z.object({ id: z.string(), time: isoTime, actor: z.string(), action: z.string(), subject: z.string(), details: z.unknown().optional() }),
);
export const AuditPage = named('AuditPage', 'audit entries, newest first', z.object({ entries: z.array(AuditEntry) }));

const scheduleFields = {
  name: z.string(),
  cron: z.string(),
  timezone: z.string().optional(),
  request: jsonObject.describe('the POST /v1/runs body each fire submits'),
  next: isoTime.optional().describe('when it fires next'),
};
export const Schedule = named('Schedule', 'a schedule and its next fire time', z.object(scheduleFields));
export const CreatedSchedule = named(
  'CreatedSchedule',
  'the stored schedule and its link',
  z.object({ ...scheduleFields, links: z.object({ self: z.string() }) }),
);
export const ScheduleList = named('ScheduleList', 'every schedule', z.object({ schedules: z.array(Schedule) }));
export const ScheduleDeleted = named('ScheduleDeleted', 'the schedule stops firing', z.object({ name: z.string(), deleted: z.literal(true) }));
