// One run: while it runs, each node's progress and capture state live (SSE);
// once it ended, the findings first, then the bundle download and the report
// page embedded. Cancel for sessions that may write.
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { followRunEvents, type RunEventSources } from '../../core/run-events.js';
import type { ReportService } from '../../core/reports.js';
import type { RunService } from '../../core/runs.js';
import type { SessionStore } from '../../core/sessions.js';
import { grants } from '../../core/tokens.js';
import type { Finding } from '../../model/findings.js';
import { FINAL_STATUSES, type RunRecord } from '../../model/run.js';
import { CSP as REPORT_CSP } from '../../report/html/assets.js';
import { createLogger } from '../../util/logger.js';
import { checkCsrf } from '../csrf.js';
import type { ConsoleEnv } from '../env.js';
import { fragment, page } from '../render.js';
import { triggerOf } from '../run-filter.js';
import { needScope } from '../session.js';
import { CsrfField, seconds, Time } from '../view.js';
import { NodeProgress, RunStatus, type LiveCaptures } from './run-parts.js';

const log = createLogger({ component: 'console' });

export interface RunPageOptions {
  runs: RunService;
  reports: ReportService;
  sessions: SessionStore;
  runEvents: RunEventSources;
}

function Findings({ findings }: { findings: Finding[] | undefined }) {
  if (!findings) return <p class="muted">No findings were stored for this run (its analysis failed, or they expired).</p>;
  if (!findings.length) return <p class="banner good">No findings: nothing in this run crossed a threshold.</p>;
  const count = (severity: string) => findings.filter((f) => f.severity === severity).length;
  return (
    <div>
      <p>{`${findings.length} finding${findings.length === 1 ? '' : 's'}: ${count('critical')} critical, ${count('warning')} warning, ${count('info')} info; worst first.`}</p>
      {findings.map((f) => (
        <article class={`finding ${f.severity}`}>
          <h3>
            <span class="sev">{f.severity}</span> {f.title}
          </h3>
          <p class="muted">
            {f.capture} on {f.node}
          </p>
        </article>
      ))}
    </div>
  );
}

function Facts({ run }: { run: RunRecord }) {
  const target = Object.entries(run.plan.target).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>
        <RunStatus run={run} />
      </dd>
      <dt>Runbook</dt>
      <dd>
        {run.plan.runbook ? `${run.plan.runbookTitle ?? run.plan.runbook} (${run.plan.runbook})` : `ad-hoc: ${run.plan.steps.map((s) => s.capture).join(', ')}`}
      </dd>
      {run.plan.params && Object.keys(run.plan.params).length > 0 && (
        <>
          <dt>Params</dt>
          <dd>
            <code>{JSON.stringify(run.plan.params)}</code>
          </dd>
        </>
      )}
      <dt>Target</dt>
      <dd>{target.length ? target.join(' ') : 'whole host'}</dd>
      <dt>Window</dt>
      <dd>{seconds(run.plan.durationMs)}</dd>
      <dt>Asked by</dt>
      <dd>
        {run.requestedBy} via {triggerOf(run)}
        {run.plan.reason && <>: {run.plan.reason}</>}
      </dd>
      <dt>Created</dt>
      <dd>
        <Time iso={run.createdAt} />
      </dd>
      {run.finishedAt && (
        <>
          <dt>Ended</dt>
          <dd>
            <Time iso={run.finishedAt} />
          </dd>
        </>
      )}
      <dt>Id</dt>
      <dd>
        <code>{run.id}</code>
      </dd>
    </dl>
  );
}

export function runPage({ runs, reports, sessions, runEvents }: RunPageOptions) {
  const app = new Hono<ConsoleEnv>();
  const read = needScope(sessions, 'runs:read');
  const write = needScope(sessions, 'runs:write');

  app.get('/runs/:id', read, async (c) => {
    const run = await runs.withQueuePositions(c.req.param('id'));
    const session = c.get('session')!;
    const ended = FINAL_STATUSES.has(run.status);
    const findings = ended ? await runs.storedFindings(run.id) : undefined;
    const title = run.plan.runbookTitle ?? `Run ${run.id.slice(0, 8)}`;
    return page(
      c,
      { title, current: 'runs' },
      <div data-live={ended ? undefined : `/runs/${run.id}/live`} data-reload-on-done="">
        {c.req.query('cancelled') !== undefined && (
          <p class="banner good" role="status">
            Cancel requested: the nodes detach now and keep what they captured.
          </p>
        )}
        {ended && (
          <section aria-labelledby="findings-h">
            <h2 id="findings-h">Findings</h2>
            <Findings findings={findings} />
          </section>
        )}
        <div class="actions">
          {ended && (
            <a class="button" href={`/runs/${run.id}/report`} download>
              Download the report bundle (.tar.gz)
            </a>
          )}
          {!ended && grants(session.scopes, 'runs:write') && (
            <form method="post" action={`/runs/${run.id}/cancel`}>
              <CsrfField session={session} />
              <button type="submit" class="danger">
                Cancel this run
              </button>
            </form>
          )}
        </div>
        <section aria-labelledby="facts-h">
          <h2 id="facts-h">The run</h2>
          <Facts run={run} />
        </section>
        <section aria-labelledby="nodes-h">
          <h2 id="nodes-h">Nodes</h2>
          <NodeProgress run={run} live={new Map()} />
        </section>
        {ended && (
          <section aria-labelledby="report-h">
            <h2 id="report-h">Report</h2>
            <iframe class="report" title={`Report of run ${run.id}`} src={`/runs/${run.id}/report.html`} sandbox="allow-scripts" />
          </section>
        )}
      </div>,
    );
  });

  // Live progress: every run event sends the status and node table again.
  app.get('/runs/:id/live', read, async (c) => {
    const run = await runs.get(c.req.param('id'));
    return streamSSE(
      c,
      async (stream) => {
        const aborted = new AbortController();
        stream.onAbort(() => aborted.abort());
        const live: LiveCaptures = new Map();
        const send = async (current: RunRecord) => {
          await stream.writeSSE({ event: 'fragment', data: JSON.stringify({ id: 'run-status', html: await fragment(<RunStatus run={current} />) }) });
          await stream.writeSSE({
            event: 'fragment',
            data: JSON.stringify({ id: 'run-nodes', html: await fragment(<NodeProgress run={current} live={live} />) }),
          });
        };
        await send(await runs.withQueuePositions(run.id));
        for await (const entry of followRunEvents(runEvents, run, '', aborted.signal)) {
          const event = entry.event as { node?: string; capture?: string };
          if (entry.type === 'capture-live' && event.node && event.capture) live.set(event.node, (live.get(event.node) ?? new Set()).add(event.capture));
          if (entry.type === 'run-finished') break;
          await send(await runs.withQueuePositions(run.id));
        }
        if (!stream.aborted) await stream.writeSSE({ event: 'done', data: '{}' });
      },
      async (err, stream) => {
        if (!stream.aborted) log.warn('console event stream failed', { runId: run.id, error: err.message });
      },
    );
  });

  app.post('/runs/:id/cancel', write, async (c) => {
    const session = c.get('session')!;
    checkCsrf(c, session.csrf, await c.req.parseBody());
    const run = await runs.get(c.req.param('id'));
    await runs.cancel(run, { actor: session.name, details: { via: 'console' } });
    return c.redirect(`/runs/${run.id}?cancelled`, 303);
  });

  app.get('/runs/:id/report', read, async (c) => {
    const bundle = await reports.bundle(c.req.param('id'), c.get('session')!.name);
    return new Response(Readable.toWeb(bundle.stream) as ReadableStream, {
      headers: {
        'content-type': 'application/gzip',
        'content-disposition': `attachment; filename="${bundle.filename}"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    });
  });

  // The report page in the run page's frame (same origin only; sandboxed there).
  app.get('/runs/:id/report.html', read, async (c) => {
    const { stream } = await reports.page(c.req.param('id'), c.get('session')!.name);
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': `${REPORT_CSP}; frame-ancestors 'self'`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    });
  });

  return app;
}
