// /v1/links/:id/report.html and /v1/links/:id/report: a run's report for a
// person who clicked a signed link in chat (no bearer header). The link's
// signature and expiry are the credential (src/core/report-links.ts); every
// use, served or refused, is audited and counted.
import { Hono, type Context } from 'hono';
import type { RedisClient } from '../../redis/connection.js';
import type { AuditLog } from '../../core/audit.js';
import { DomainError, Expired, NotFound } from '../../core/errors.js';
import { checkReportLink, type ReportLinkSettings } from '../../core/report-links.js';
import type { ReportService } from '../../core/reports.js';
import { addShared } from '../../redis/shared-metrics.js';
import { bundleReply, pageReply } from './report.js';

export interface ReportLinkRoutesOptions {
  reports: ReportService;
  audit: AuditLog;
  redis: RedisClient;
  /** Absent: signed links are off and these routes answer 404. */
  reportLinks?: ReportLinkSettings;
}

// The URL is the credential: it must not leak to other sites through Referer.
const LINK_HEADERS = { 'referrer-policy': 'no-referrer' };

export function reportLinkRoutes({ reports, audit, redis, reportLinks }: ReportLinkRoutesOptions) {
  const app = new Hono();

  const opened = async <T>(c: Context, file: string, serve: (actor: string) => Promise<T>): Promise<T> => {
    const runId = c.req.param('id')!;
    const count = (outcome: string) => addShared(redis, [{ name: 'sherlock_report_links_total', labels: { outcome } }]);
    if (!reportLinks) throw new NotFound('report_links_off', 'signed report links are off on this server (set SHERLOCK_REPORT_LINK_KEY to turn them on)');
    let expiresAt: string;
    try {
      ({ expiresAt } = checkReportLink(reportLinks.key, runId, { exp: c.req.query('exp'), sig: c.req.query('sig') }));
    } catch (err) {
      const outcome = err instanceof Expired ? 'expired' : 'invalid';
      await count(outcome);
      await audit.record({ actor: 'signed-link', action: 'report.link.refused', subject: runId, details: { file, outcome, ip: clientAddress(c) } });
      throw err;
    }
    try {
      const served = await serve(`signed-link (expires ${expiresAt}, from ${clientAddress(c)})`);
      await count('served');
      return served;
    } catch (err) {
      if (err instanceof DomainError) await count('refused');
      throw err;
    }
  };

  app.get('/:id/report.html', async (c) => pageReply(await opened(c, 'report.html', (actor) => reports.page(c.req.param('id'), actor)), LINK_HEADERS));
  app.get('/:id/report', async (c) => bundleReply(await opened(c, 'bundle', (actor) => reports.bundle(c.req.param('id'), actor)), LINK_HEADERS));

  return app;
}

/** The peer's address as the node server saw it (a proxy in front shows as itself). */
function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}
