// /v1/runs: submit, list, read, follow (SSE), cancel, and download artifacts.
// The run service (src/core/runs.ts) does the work; this is HTTP around it.
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { followLiveEvents, followRunEvents, type RunEventEntry, type RunEventSources } from '../../core/run-events.js';
import { runLinks as links, type RunService } from '../../core/runs.js';
import type { TokenStore } from '../../core/tokens.js';
import { createLogger } from '../../util/logger.js';
import { requireScope } from '../auth.js';
import type { ApiEnv } from '../env.js';
import { readJson, validationError } from '../errors.js';
import { checkArtifactName, checkNodeName } from '../names.js';
import { listQuery } from '../schemas/requests.js';

const log = createLogger({ component: 'api' });

export interface RunRoutesOptions {
  runs: RunService;
  tokens: TokenStore;
  /** The process's shared event reader (one Redis connection for every SSE client). */
  runEvents: RunEventSources;
}

export function runRoutes({ runs, tokens, runEvents }: RunRoutesOptions) {
  const read = requireScope(tokens, 'runs:read');
  const write = requireScope(tokens, 'runs:write');
  const app = new Hono<ApiEnv>();

  app.post('/', write, async (c) => {
    const run = await runs.start(await readJson(c), { actor: c.get('token').name });
    return c.json({ id: run.id, status: run.status, nodes: run.plan.nodes, links: links(run.id) }, 202);
  });

  app.get('/', read, async (c) => {
    const parsed = listQuery.safeParse(c.req.query());
    if (!parsed.success) throw validationError(parsed.error, 'query');
    const { runs: page, next } = await runs.list(parsed.data);
    return c.json({
      runs: page,
      ...(next !== undefined ? { next: `/v1/runs?${new URLSearchParams({ ...stringify(c.req.query()), before: String(next) })}` } : {}),
    });
  });

  app.get('/:id', read, async (c) => {
    const run = await runs.withQueuePositions(c.req.param('id'));
    return c.json({ ...run, links: links(run.id) });
  });

  app.delete('/:id', write, async (c) => {
    const run = await runs.get(c.req.param('id'));
    const after = await runs.cancel(run, { actor: c.get('token').name });
    return c.json({ id: run.id, status: after.status, cancelRequested: true }, 202);
  });

  // Ends the window now: every node keeps what it captured and completes (cancel marks the run cancelled).
  app.post('/:id/stop', write, async (c) => {
    const run = await runs.get(c.req.param('id'));
    const after = await runs.stop(run, { actor: c.get('token').name });
    return c.json({ id: run.id, status: after.status, stopRequested: true }, 202);
  });

  /** An SSE response from a follower; a reconnecting client resumes after the last event it saw (Last-Event-ID). */
  const sse = (follow: typeof followRunEvents) => async (c: Context<ApiEnv>) => {
    const run = await runs.get(c.req.param('id')!);
    const resumeFrom = c.req.header('last-event-id') ?? '';
    return streamSSE(
      c,
      async (stream) => {
        const aborted = new AbortController();
        stream.onAbort(() => aborted.abort());
        for await (const entry of follow(runEvents, run, resumeFrom, aborted.signal) as AsyncGenerator<RunEventEntry>) {
          await stream.writeSSE({ id: entry.id, event: entry.type, data: JSON.stringify(entry.event) });
        }
      },
      async (err, stream) => {
        // A client that went away mid-read closes the reader under it: not an error.
        if (!stream.aborted) log.warn('event stream failed', { runId: run.id, error: err.message });
      },
    );
  };

  app.get('/:id/events', read, sse(followRunEvents));
  // Streaming captures' events as they arrive (redacted, rate-capped per capture; the report has all of them).
  app.get('/:id/live', read, sse(followLiveEvents));

  app.get('/:id/findings', read, async (c) => {
    const { run, findings, counts } = await runs.findings(c.req.param('id'));
    return c.json({ runId: run.id, status: run.status, ...(run.plan.runbook ? { runbook: run.plan.runbook } : {}), counts, findings });
  });

  app.get('/:id/nodes/:node/artifacts/:name', read, async (c) => {
    const { meta, chunks } = await runs.artifact(
      c.req.param('id'),
      checkNodeName(c.req.param('node')),
      checkArtifactName(c.req.param('name')),
      c.get('token').name,
    );
    const body = Readable.toWeb(Readable.from(chunks)) as ReadableStream;
    return new Response(body, { headers: { 'content-type': meta.contentType, 'content-encoding': 'gzip' } });
  });

  return app;
}

function stringify(query: Record<string, string>): Record<string, string> {
  const { before: _before, ...rest } = query;
  return rest;
}
