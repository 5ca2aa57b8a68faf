// /v1/runs/:id/report (the .tar.gz bundle, streamed) and /v1/runs/:id/report.html
// (the page alone, streamed). Both need runs:read and go to the audit log like
// artifact downloads. Reports are for runs that ended: a running run's
// results are still coming in.
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { z } from 'zod';
import { createReportBundle } from '../../report/bundle.js';
import { reportHtmlChunks } from '../../report/html/document.js';
import { CSP } from '../../report/html/assets.js';
import { prepareReport } from '../../report/model.js';
import { redisArtifactSource, type FindingsLoader } from '../../report/source.js';
import { FINAL_STATUSES, type RunRecord } from '../../runs/types.js';
import { audit } from '../audit.js';
import { requireScope } from '../auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { ApiError } from '../errors.js';

export interface ReportRouteOptions {
  /** Findings of a run; by default the run store's (stored by analysis when the run ended). */
  loadFindings?: FindingsLoader;
}

export function reportRoutes(deps: ApiDeps, options: ReportRouteOptions = {}) {
  const { store, tokens, redis } = deps;
  const read = requireScope(tokens, 'runs:read');
  const loadFindings = options.loadFindings ?? ((id: string) => store.getFindings(id));
  const loadBaseline = (id: string) => store.getBaselineComparison(id);
  const app = new Hono<ApiEnv>();

  const finishedRun = async (id: string): Promise<RunRecord> => {
    const run = z.uuid().safeParse(id).success ? await store.get(id) : undefined;
    if (!run) throw new ApiError(404, 'run_not_found', `no run ${id} (it may have expired after the retention period)`);
    if (!FINAL_STATUSES.has(run.status)) {
      throw new ApiError(409, 'run_not_finished', `run ${run.id} is ${run.status}: its report is ready when it ends (follow /v1/runs/${run.id}/events)`);
    }
    return run;
  };

  app.get('/:id/report', read, async (c) => {
    const run = await finishedRun(c.req.param('id'));
    const bundle = await createReportBundle({ redis, run, loadFindings, loadBaseline });
    await audit(redis, { actor: c.get('token').name, action: 'report.download', subject: run.id, details: { file: bundle.filename } });
    const body = Readable.toWeb(bundle.stream) as ReadableStream;
    return new Response(body, {
      headers: {
        'content-type': 'application/gzip',
        'content-disposition': `attachment; filename="${bundle.filename}"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    });
  });

  app.get('/:id/report.html', read, async (c) => {
    const run = await finishedRun(c.req.param('id'));
    const ctx = await prepareReport({ run, source: redisArtifactSource(redis, run.id), loadFindings, loadBaseline });
    await audit(redis, { actor: c.get('token').name, action: 'report.download', subject: run.id, details: { file: 'report.html' } });
    const chunks = reportHtmlChunks(ctx, { linkFiles: false });
    const stream = Readable.from((async function* () {
      for await (const chunk of chunks) yield Buffer.from(chunk);
    })());
    stream.on('error', () => {}); // a client that hangs up destroys it with an AbortError
    const body = Readable.toWeb(stream) as ReadableStream;
    return new Response(body, {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': CSP,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    });
  });

  return app;
}
