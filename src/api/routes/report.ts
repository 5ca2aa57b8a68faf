// /v1/runs/:id/report (the .tar.gz bundle, streamed) and /v1/runs/:id/report.html
// (the page alone, streamed). Both need runs:read; the report service
// (src/core/reports.ts) refuses runs still going and audits the download.
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { ReportBundle } from '../../report/bundle.js';
import type { ReportService } from '../../core/reports.js';
import type { TokenStore } from '../../core/tokens.js';
import { CSP } from '../../report/html/assets.js';
import { requireScope } from '../auth.js';
import type { ApiEnv } from '../env.js';

export interface ReportRoutesOptions {
  reports: ReportService;
  tokens: TokenStore;
}

export function reportRoutes({ reports, tokens }: ReportRoutesOptions) {
  const read = requireScope(tokens, 'runs:read');
  const app = new Hono<ApiEnv>();

  app.get('/:id/report', read, async (c) => bundleReply(await reports.bundle(c.req.param('id'), c.get('token').name)));

  app.get('/:id/report.html', read, async (c) => pageReply(await reports.page(c.req.param('id'), c.get('token').name)));

  return app;
}

/** The bundle as a download (also for signed links: report-links.ts). */
export function bundleReply(bundle: ReportBundle, extra: Record<string, string> = {}): Response {
  const body = Readable.toWeb(bundle.stream) as ReadableStream;
  return new Response(body, {
    headers: {
      'content-type': 'application/gzip',
      'content-disposition': `attachment; filename="${bundle.filename}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...extra,
    },
  });
}

/** report.html streamed, with its content security policy. */
export function pageReply({ stream }: { stream: Readable }, extra: Record<string, string> = {}): Response {
  const body = Readable.toWeb(stream) as ReadableStream;
  return new Response(body, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CSP,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...extra,
    },
  });
}
