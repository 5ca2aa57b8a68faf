// The runs page's filters: status, runbook and node go to the run store; the
// trigger and the time window are checked here on each page the store gives,
// so a page still holds up to `limit` matching runs.
import { z } from 'zod';
import type { RunService } from '../core/runs.js';
import { RUN_STATUSES, type RunRecord } from '../model/run.js';

export const TRIGGERS = ['api', 'console', 'chat', 'webhook', 'schedule'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Which way a run came in, from the origin its starter recorded. */
export function triggerOf(run: RunRecord): Trigger {
  const origin = run.plan.origin ?? {};
  if ('schedule' in origin) return 'schedule';
  if ('command' in origin || 'channel' in origin) return 'chat';
  if ('rule' in origin || 'tool' in origin || 'alert' in origin) return 'webhook';
  if (origin.via === 'console') return 'console';
  return 'api';
}

const blank = (v: unknown) => (v === '' ? undefined : v);
const utcTime = z.preprocess(
  blank,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/, 'times are YYYY-MM-DDTHH:MM (UTC)')
    .transform((t) => Date.parse(t.length === 10 ? `${t}T00:00Z` : `${t}Z`))
    .optional(),
);

export const runFilterSchema = z.object({
  status: z.preprocess(blank, z.enum(RUN_STATUSES).optional()),
  runbook: z.preprocess(blank, z.string().max(100).optional()),
  node: z.preprocess(blank, z.string().max(63).optional()),
  trigger: z.preprocess(blank, z.enum(TRIGGERS).optional()),
  since: utcTime,
  until: utcTime,
  before: z.preprocess(
    blank,
    z
      .string()
      .regex(/^\d{1,15}:[0-9a-f-]{36}$/, 'before is the cursor of the next-page link')
      .optional(),
  ),
});

export type RunFilter = z.infer<typeof runFilterSchema>;

export async function findRuns(runs: Pick<RunService, 'list'>, f: RunFilter, limit: number): Promise<{ runs: RunRecord[]; next?: string }> {
  const found: RunRecord[] = [];
  let cursor: { ms: number; id?: string } | undefined = f.before
    ? { ms: Number(f.before.split(':')[0]), id: f.before.split(':')[1] }
    : f.until
      ? { ms: f.until }
      : undefined;
  for (let pages = 0; found.length < limit && pages < 20; pages++) {
    const page = await runs.list({ limit, ...(cursor ? { before: cursor } : {}), status: f.status, node: f.node, runbook: f.runbook });
    let older = false;
    for (const run of page.runs) {
      if (f.since !== undefined && Date.parse(run.createdAt) < f.since) {
        older = true;
        break;
      }
      if (f.until !== undefined && Date.parse(run.createdAt) >= f.until) continue;
      if (f.trigger && triggerOf(run) !== f.trigger) continue;
      found.push(run);
      if (found.length === limit) return { runs: found, next: `${Date.parse(run.createdAt)}:${run.id}` };
    }
    if (older || !page.next) break;
    const [ms, id] = page.next.split(':');
    cursor = { ms: Number(ms), id };
  }
  return { runs: found };
}
