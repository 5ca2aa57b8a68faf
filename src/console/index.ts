// The web console for on-call, served by the API process at /: server-rendered
// pages over the application core (src/core), a session cookie from a token,
// CSRF-checked forms, live updates over SSE. No HTTP status decisions of its
// own: domain errors map as in the API (errors.tsx).
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import type { RunEventSources } from '../core/run-events.js';
import type { AuditLog } from '../core/audit.js';
import type { NodeService } from '../core/nodes.js';
import type { ReportService } from '../core/reports.js';
import type { RunService } from '../core/runs.js';
import type { ScheduleService } from '../core/schedules.js';
import type { SessionStore } from '../core/sessions.js';
import type { RunbookCatalog } from '../runbooks/catalog.js';
import type { ConsoleEnv } from './env.js';
import { consoleError } from './errors.js';
import { auditPage } from './pages/audit.js';
import { loginPage } from './pages/login.js';
import { nodesPage } from './pages/nodes.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';
import { schedulesPage } from './pages/schedules.js';
import { startPage } from './pages/start.js';
import { loadSession } from './session.js';

export interface ConsoleOptions {
  sessions: SessionStore;
  runs: RunService;
  reports: ReportService;
  schedules: ScheduleService;
  nodes: NodeService;
  audit: AuditLog;
  runbooks?: RunbookCatalog;
  /** The process's shared run-event reader (src/core/run-event-hub.ts), as SSE uses. */
  runEvents: RunEventSources;
}

const PAGE_PATHS = ['/', '/login', '/logout', '/runs', '/runs/*', '/start', '/start/*', '/nodes', '/schedules', '/audit'];

export function createConsole(o: ConsoleOptions) {
  const app = new Hono<ConsoleEnv>();
  for (const path of PAGE_PATHS) {
    app.use(path, async (c, next) => {
      c.set('nonce', randomBytes(16).toString('base64'));
      await next();
    });
    app.use(path, compress());
    app.use(path, loadSession(o.sessions));
  }
  app.route('/', loginPage({ sessions: o.sessions, audit: o.audit }));
  app.route('/', runsPage({ runs: o.runs, sessions: o.sessions, runbooks: o.runbooks }));
  app.route('/', startPage({ runs: o.runs, nodes: o.nodes, sessions: o.sessions, runbooks: o.runbooks }));
  app.route('/', runPage({ runs: o.runs, reports: o.reports, sessions: o.sessions, runEvents: o.runEvents }));
  app.route('/', nodesPage({ nodes: o.nodes, sessions: o.sessions }));
  app.route('/', schedulesPage({ schedules: o.schedules, runs: o.runs, sessions: o.sessions }));
  app.route('/', auditPage({ audit: o.audit, sessions: o.sessions }));
  app.onError(consoleError);
  return app;
}
