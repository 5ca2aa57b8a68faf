// The hono app: routes by family, JSON errors everywhere, a body limit, and
// latency metrics per route. Nothing here needs root or a local disk.
import { Hono, type HonoRequest } from 'hono';
import type { RunEventSources } from '../core/run-events.js';
import type { RedisClient } from '../redis/connection.js';
import type { AuditLog } from '../core/audit.js';
import type { NodeService } from '../core/nodes.js';
import type { ReportService } from '../core/reports.js';
import type { RunService } from '../core/runs.js';
import type { ScheduleService } from '../core/schedules.js';
import type { TokenStore } from '../core/tokens.js';
import type { RunbookCatalog } from '../runbooks/catalog.js';
import type { ChatopsConfig } from '../triggers/chatops/config.js';
import type { ReportLinkSettings } from '../core/report-links.js';
import type { ChatFollowers } from '../triggers/chatops/followers.js';
import type { HooksSettings } from '../triggers/hooks/settings.js';
import type { ApiEnv } from './env.js';
import { limitBody } from './body-limit.js';
import { errorBody, handleError } from './errors.js';
import type { BodyLimits } from './read-body.js';
import type { HttpMetrics } from './metrics.js';
import { adminRoutes } from './routes/admin.js';
import { chatopsRoutes } from './routes/chatops.js';
import { hookRoutes } from './routes/hooks.js';
import { reportLinkRoutes } from './routes/report-links.js';
import { reportRoutes } from './routes/report.js';
import { runbookRoutes } from './routes/runbooks.js';
import { runRoutes } from './routes/runs.js';
import { scheduleRoutes } from './routes/schedules.js';
import { systemRoutes } from './routes/system.js';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Whether the request came with a body no one read. Asked of the headers, not
 * of `raw.body`: that getter makes the node adapter build a web Request and
 * stream, which a read body (or none) never needs.
 */
function unreadBody(req: HonoRequest): boolean {
  if (req.raw.bodyUsed || req.method === 'GET' || req.method === 'HEAD') return false;
  if (req.header('transfer-encoding')) return true;
  const declared = req.header('content-length');
  return declared === undefined ? req.raw.body !== null : declared.trim() !== '0';
}

/** The services the routes are made of (the server builds them); each route takes the few it uses. */
export interface ApiOptions {
  /** The API's own connection (health, trigger dedup and replay keys). */
  redis: RedisClient;
  /** Where SSE followers read run events: the process's shared reader and a non-blocking connection. */
  runEvents: RunEventSources;
  runs: RunService;
  reports: ReportService;
  schedules: ScheduleService;
  nodes: NodeService;
  tokens: TokenStore;
  audit: AuditLog;
  httpMetrics: HttpMetrics;
  /** The runbooks this replica loaded (absent: runs name captures in steps only). */
  runbooks?: RunbookCatalog;
  /** Slack/Mattermost slash commands (absent, or no secret: /v1/chatops/slack answers 404). */
  chatops?: ChatopsConfig;
  /** Incident-tool webhooks (absent: every /v1/hooks receiver answers 404). */
  hooks?: HooksSettings;
  /** Chat follow-ups running in the background; the API's shutdown stops them. */
  chatFollowers?: ChatFollowers;
  /** Size and time limits of the bodies signed routes read (absent: DEFAULT_BODY_LIMITS). */
  bodyLimits?: BodyLimits;
  /** Signed report links for chat (absent: chat posts bearer links and /v1/links answers 404). */
  reportLinks?: ReportLinkSettings;
}

export function createApi(o: ApiOptions) {
  const app = new Hono<ApiEnv>();
  app.use('*', async (c, next) => {
    const start = performance.now();
    await next();
    o.httpMetrics.observe(c.req.method, c.req.routePath, c.res.status, (performance.now() - start) / 1000);
  });
  // A reply sent before the request body was read (401, 415, 413...) leaves
  // the rest of the body on the socket; the node adapter drains it only
  // briefly and then destroys the socket under whatever request the client
  // sent next on it. So such replies close the connection instead.
  app.use('*', async (c, next) => {
    await next();
    if (c.res.status === 413 || c.res.status === 408 || unreadBody(c.req)) c.res.headers.set('connection', 'close');
  });
  app.use('*', limitBody(MAX_BODY_BYTES));
  const { tokens, runs, audit, runbooks } = o;
  app.route('/', systemRoutes({ redis: o.redis, nodes: o.nodes, tokens, httpMetrics: o.httpMetrics }));
  app.route('/v1/runs', runRoutes({ runs, tokens, runEvents: o.runEvents }));
  app.route('/v1/runbooks', runbookRoutes({ runbooks, tokens, audit }));
  app.route('/v1/runs', reportRoutes({ reports: o.reports, tokens }));
  app.route('/v1/links', reportLinkRoutes({ reports: o.reports, audit, redis: o.redis, ...(o.reportLinks ? { reportLinks: o.reportLinks } : {}) }));
  app.route(
    '/v1/chatops',
    chatopsRoutes({ redis: o.redis, runs, runbooks, chatops: o.chatops, chatFollowers: o.chatFollowers, bodyLimits: o.bodyLimits, reportLinks: o.reportLinks }),
  );
  app.route('/v1', adminRoutes({ tokens, audit }));
  app.route('/v1/hooks', hookRoutes({ redis: o.redis, runs, audit, hooks: o.hooks, bodyLimits: o.bodyLimits }));
  app.route('/v1', scheduleRoutes({ schedules: o.schedules, runs, tokens }));
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}; see /v1/openapi.json`), 404));
  app.onError(handleError);
  return app;
}
