// /v1/schedules (create and delete: runs:write; list: runs:read) and
// /v1/runs/:id/baseline (runs:read): a run's numbers beside its nodes' latest
// scheduled baseline (stored when the run ended).
import { Hono } from 'hono';
import { z } from 'zod';
import { audit } from '../api/audit.js';
import { requireScope } from '../api/auth.js';
import type { ApiDeps, ApiEnv } from '../api/context.js';
import { ApiError, readJson, validationError } from '../api/errors.js';
import { runRequestSchema } from '../planner/run-request.js';
import { NODE_NAME_RULE, isValidNodeName } from '../redis/keys.js';
import { FINAL_STATUSES } from '../runs/types.js';
import { checkCron } from './cron.js';

const scheduleBody = z
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

export function scheduleRoutes(deps: ApiDeps) {
  const app = new Hono<ApiEnv>();
  const write = requireScope(deps.tokens, 'runs:write');
  const read = requireScope(deps.tokens, 'runs:read');
  const schedules = () => {
    if (!deps.schedules) throw new ApiError(404, 'schedules_disabled', 'schedules are not enabled on this server');
    return deps.schedules;
  };
  const checkName = (name: string) => {
    if (!isValidNodeName(name)) throw new ApiError(400, 'invalid_name', `schedule names are ${NODE_NAME_RULE}`);
  };

  app.post('/schedules', write, async (c) => {
    const s = schedules();
    const parsed = scheduleBody.safeParse(await readJson(c));
    if (!parsed.success) throw validationError(parsed.error);
    const { name, cron, timezone, ...rest } = parsed.data;
    const next = checkCron(cron, timezone);
    const request = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    const checked = runRequestSchema.safeParse(request);
    if (!checked.success) throw validationError(checked.error, 'run request');
    if (deps.runbooks && !deps.runbooks.get(rest.runbook)) {
      throw new ApiError(404, 'unknown_runbook', `no runbook ${rest.runbook}; runbooks: ${deps.runbooks.names().join(', ')}`, { available: deps.runbooks.names() });
    }
    if (await s.get(name)) throw new ApiError(409, 'schedule_exists', `a schedule named ${name} exists; DELETE /v1/schedules/${name} first to replace it`);
    await s.upsert({ name, cron, ...(timezone ? { timezone } : {}), request });
    const actor = c.get('token').name;
    await audit(deps.redis, { actor, action: 'schedule.create', subject: name, details: { cron, ...(timezone ? { timezone } : {}), request } });
    const stored = await s.get(name);
    return c.json({ name, cron, ...(timezone ? { timezone } : {}), request, next: stored?.next ?? next.toISOString(), links: { self: `/v1/schedules/${name}` } }, 201);
  });

  app.get('/schedules', read, async (c) => c.json({ schedules: await schedules().list() }));

  app.get('/schedules/:name', read, async (c) => {
    const name = c.req.param('name');
    checkName(name);
    const found = await schedules().get(name);
    if (!found) throw new ApiError(404, 'schedule_not_found', `no schedule named ${name}`);
    return c.json(found);
  });

  app.delete('/schedules/:name', write, async (c) => {
    const name = c.req.param('name');
    checkName(name);
    const s = schedules();
    const found = await s.get(name);
    if (!found || !(await s.remove(name))) throw new ApiError(404, 'schedule_not_found', `no schedule named ${name}`);
    await audit(deps.redis, { actor: c.get('token').name, action: 'schedule.delete', subject: name, details: { cron: found.cron } });
    return c.json({ name, deleted: true });
  });

  app.get('/runs/:id/baseline', read, async (c) => {
    const id = c.req.param('id');
    const run = await deps.store.get(id);
    if (!run) throw new ApiError(404, 'run_not_found', `no run ${id} (unknown, or expired)`);
    if (!FINAL_STATUSES.has(run.status)) throw new ApiError(404, 'baseline_not_ready', `run ${id} is ${run.status}; its comparison with the baseline is computed once it ends`);
    const cmp = await deps.store.getBaselineComparison(run.id);
    if (!cmp) throw new ApiError(404, 'baseline_not_found', `run ${id} has no stored comparison with a baseline (it expired, or the run's analysis failed)`);
    const { missing, ...rest } = cmp;
    return c.json({ ...rest, ...(missing.length ? { missing, note: `no scheduled baseline yet for these nodes with runbook ${run.plan.runbook ?? 'ad-hoc'} or health-check and target ${cmp.target}` } : {}) });
  });

  return app;
}
