// /v1/runbooks: the runbooks this API process loaded (list, one with its params
// as JSON Schema), and reloading them from disk (admin).
import { relative } from 'node:path';
import { Hono } from 'hono';
import { paramsJsonSchema } from '../../runbooks/params.js';
import type { RunbookLoadError } from '../../runbooks/loader.js';
import type { Runbook } from '../../runbooks/schema.js';
import { formatDuration } from '../../util/duration.js';
import { audit } from '../audit.js';
import { requireScope } from '../auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { ApiError } from '../errors.js';

/** What the runbook routes and the planner need besides ApiDeps. */
function summary(r: Runbook) {
  return {
    name: r.name,
    title: r.title,
    description: r.description,
    params: Object.keys(r.params),
    captures: r.steps.map((s) => s.capture),
    links: { self: `/v1/runbooks/${r.name}` },
  };
}

export function runbookDetail(r: Runbook) {
  return {
    name: r.name,
    title: r.title,
    description: r.description,
    params: paramsJsonSchema(r),
    target: r.target,
    steps: r.steps,
    limits: {
      defaultDuration: formatDuration(r.limits.defaultDuration),
      maxDuration: formatDuration(r.limits.maxDuration),
      defaultDurationMs: r.limits.defaultDuration,
      maxDurationMs: r.limits.maxDuration,
      ...(r.limits.maxEvents !== undefined ? { maxEvents: r.limits.maxEvents } : {}),
    },
    thresholds: r.thresholds,
    ...(r.rules.length ? { rules: r.rules } : {}),
  };
}

export function runbookRoutes(deps: ApiDeps) {
  const { tokens, redis } = deps;
  const read = requireScope(tokens, 'runs:read');
  const admin = requireScope(tokens, 'admin');
  const app = new Hono<ApiEnv>();
  const catalog = () => deps.runbooks;
  // Paths relative to the runbooks directory: what an operator edits, without the server's layout.
  const errorsOf = (errors: readonly RunbookLoadError[]) =>
    errors.map((e) => ({ file: deps.runbooks ? relative(deps.runbooks.dir, e.file) || e.file : e.file, field: e.field, message: e.message, issues: e.issues }));

  app.get('/', read, (c) => {
    const runbooks = catalog();
    return c.json({ runbooks: runbooks?.list().map(summary) ?? [], errors: runbooks ? errorsOf(runbooks.errors) : [] });
  });

  app.get('/:name', read, (c) => {
    const name = c.req.param('name');
    const runbook = catalog()?.get(name);
    if (!runbook) {
      const available = catalog()?.names() ?? [];
      throw new ApiError(404, 'unknown_runbook', `unknown runbook "${name}"; runbooks: ${available.length ? available.join(', ') : 'none installed'}`, { available });
    }
    return c.json(runbookDetail(runbook));
  });

  app.post('/reload', admin, async (c) => {
    const runbooks = catalog();
    if (!runbooks) throw new ApiError(409, 'no_runbooks_dir', 'this API process was started without a runbooks directory');
    const result = runbooks.reload();
    await audit(redis, { actor: c.get('token').name, action: 'runbooks.reload', subject: runbooks.dir, details: { runbooks: result.runbooks, errors: result.errors.length } });
    return c.json({ runbooks: result.runbooks, errors: errorsOf(result.errors), loadedAt: runbooks.loadedAt?.toISOString() });
  });

  return app;
}
