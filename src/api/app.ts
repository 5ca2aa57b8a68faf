// The hono app: routes by family, JSON errors everywhere, a body limit, and
// latency metrics per route. Nothing here needs root or a local disk.
import { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from './context.js';
import { limitBody } from './body-limit.js';
import { errorBody, handleError } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { reportRoutes } from './routes/report.js';
import { runbookRoutes } from './routes/runbooks.js';
import { runRoutes } from './routes/runs.js';
import { systemRoutes } from './routes/system.js';
import { hookRoutes } from '../triggers/hooks/routes.js';
import { chatopsRoutes } from '../triggers/chatops/routes.js';
import { scheduleRoutes } from '../schedules/routes.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export function createApi(deps: ApiDeps) {
  const app = new Hono<ApiEnv>();
  app.use('*', async (c, next) => {
    const start = performance.now();
    await next();
    deps.httpMetrics.observe(c.req.method, c.req.routePath, c.res.status, (performance.now() - start) / 1000);
  });
  // A reply sent before the request body was read (401, 415, 413...) leaves
  // the rest of the body on the socket; the node adapter drains it only
  // briefly and then destroys the socket under whatever request the client
  // sent next on it. So such replies close the connection instead.
  app.use('*', async (c, next) => {
    await next();
    if (c.res.status === 413 || c.res.status === 408 || (c.req.raw.body && !c.req.raw.bodyUsed)) c.res.headers.set('connection', 'close');
  });
  app.use('*', limitBody(MAX_BODY_BYTES));
  app.route('/', systemRoutes(deps));
  app.route('/v1/runs', runRoutes(deps));
  app.route('/v1/runbooks', runbookRoutes(deps));
  app.route('/v1/runs', reportRoutes(deps));
  app.route('/v1/chatops', chatopsRoutes(deps));
  app.route('/v1', adminRoutes(deps));
  app.route('/v1/hooks', hookRoutes(deps));
  app.route('/v1', scheduleRoutes(deps));
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}; see /v1/openapi.json`), 404));
  app.onError(handleError);
  return app;
}
