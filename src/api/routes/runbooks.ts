// /v1/runbooks: the runbooks this API process loaded (list, one with its params
// as JSON Schema), and reloading them from disk (admin).
import { relative } from 'node:path';
import { Hono } from 'hono';
import { paramsJsonSchema } from '../../runbooks/params.js';
import type { RunbookLoadError } from '../../runbooks/loader.js';
import type { Runbook } from '../../runbooks/schema.js';
import { formatDuration } from '../../util/duration.js';
import type { AuditLog } from '../../core/audit.js';
import { Conflict, NotFound } from '../../core/errors.js';
import type { TokenStore } from '../../core/tokens.js';
import type { RunbookCatalog } from '../../runbooks/catalog.js';
import { requireScope } from '../auth.js';
import type { ApiEnv } from '../env.js';

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

export interface RunbookRoutesOptions {
  /** The runbooks this API process loaded (absent: none, and reload is refused). */
  runbooks?: RunbookCatalog;
  tokens: TokenStore;
  audit: AuditLog;
}

export function runbookRoutes({ runbooks: loaded, tokens, audit }: RunbookRoutesOptions) {
  const read = requireScope(tokens, 'runs:read');
  const admin = requireScope(tokens, 'admin');
  const app = new Hono<ApiEnv>();
  const catalog = () => loaded;
  // Paths relative to the runbooks directory: what an operator edits, without the server's layout.
  const errorsOf = (errors: readonly RunbookLoadError[]) =>
    errors.map((e) => ({ file: loaded ? relative(loaded.dir, e.file) || e.file : e.file, field: e.field, message: e.message, issues: e.issues }));

  app.get('/', read, (c) => {
    const runbooks = catalog();
    return c.json({ runbooks: runbooks?.list().map(summary) ?? [], errors: runbooks ? errorsOf(runbooks.errors) : [] });
  });

  app.get('/:name', read, (c) => {
    const name = c.req.param('name');
    const runbook = catalog()?.get(name);
    if (!runbook) {
      const available = catalog()?.names() ?? [];
      throw new NotFound('unknown_runbook', `unknown runbook "${name}"; runbooks: ${available.length ? available.join(', ') : 'none installed'}`, {
        available,
      });
    }
    return c.json(runbookDetail(runbook));
  });

  app.post('/reload', admin, async (c) => {
    const runbooks = catalog();
    if (!runbooks) throw new Conflict('no_runbooks_dir', 'this API process was started without a runbooks directory');
    const result = runbooks.reload();
    await audit.record({
      actor: c.get('token').name,
      action: 'runbooks.reload',
      subject: runbooks.dir,
      details: { runbooks: result.runbooks, errors: result.errors.length },
    });
    return c.json({ runbooks: result.runbooks, errors: errorsOf(result.errors), loadedAt: runbooks.loadedAt?.toISOString() });
  });

  return app;
}
