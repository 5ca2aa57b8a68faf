// /v1/schedules (create and delete: runs:write; list: runs:read) and
// /v1/runs/:id/baseline (runs:read): a run's numbers beside its nodes' latest
// scheduled baseline (stored when the run ended).
import { Hono } from 'hono';
import type { RunService } from '../../core/runs.js';
import type { ScheduleService } from '../../core/schedules.js';
import type { TokenStore } from '../../core/tokens.js';
import { requireScope } from '../auth.js';
import type { ApiEnv } from '../env.js';
import { readJson } from '../errors.js';

export interface ScheduleRoutesOptions {
  schedules: ScheduleService;
  runs: Pick<RunService, 'baseline'>;
  tokens: TokenStore;
}

export function scheduleRoutes({ schedules, runs, tokens }: ScheduleRoutesOptions) {
  const app = new Hono<ApiEnv>();
  const write = requireScope(tokens, 'runs:write');
  const read = requireScope(tokens, 'runs:read');

  app.post('/schedules', write, async (c) => {
    const created = await schedules.create(await readJson(c), c.get('token').name);
    return c.json({ ...created, links: { self: `/v1/schedules/${created.name}` } }, 201);
  });

  app.get('/schedules', read, async (c) => c.json({ schedules: await schedules.list() }));

  app.get('/schedules/:name', read, async (c) => c.json(await schedules.get(c.req.param('name'))));

  app.delete('/schedules/:name', write, async (c) => {
    const name = c.req.param('name');
    await schedules.remove(name, c.get('token').name);
    return c.json({ name, deleted: true });
  });

  app.get('/runs/:id/baseline', read, async (c) => {
    const { run, comparison } = await runs.baseline(c.req.param('id'));
    const { missing, ...rest } = comparison;
    return c.json({
      ...rest,
      ...(missing.length
        ? {
            missing,
            note: `no scheduled baseline yet for these nodes with runbook ${run.plan.runbook ?? 'ad-hoc'} or health-check and target ${comparison.target}`,
          }
        : {}),
    });
  });

  return app;
}
