// /v1/runs: submit, list, read, follow (SSE), cancel, and download artifacts.
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { keys } from '../../redis/keys.js';
import { artifactChunks, artifactMeta } from '../../runs/artifacts.js';
import { FINAL_STATUSES, RUN_STATUSES, type RunRecord } from '../../runs/types.js';
import { audit } from '../audit.js';
import { requireScope } from '../auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { ApiError, readJson, validationError } from '../errors.js';
import { checkArtifactName, checkNodeName } from '../names.js';
import { startRun } from '../start-run.js';
import { createLogger } from '../../util/logger.js';

const log = createLogger({ component: 'api' });

const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    // The `next` link's cursor: createdAt ms of the page's last run, then its id.
    before: z
      .string()
      .regex(/^\d{1,15}(:[0-9a-f-]{36})?$/, 'before is the cursor from a page\'s next link (ms:run-id)')
      .transform((text) => {
        const [ms, id] = text.split(':');
        return { ms: Number(ms), ...(id ? { id } : {}) };
      })
      .optional(),
    status: z.enum(RUN_STATUSES).optional(),
    node: z.string().max(63).optional(),
    runbook: z.string().max(100).optional(),
  })
  .strict();

const links = (id: string) => ({
  self: `/v1/runs/${id}`,
  events: `/v1/runs/${id}/events`,
  findings: `/v1/runs/${id}/findings`,
});

export function runRoutes(deps: ApiDeps) {
  const { store, tokens, redis } = deps;
  const read = requireScope(tokens, 'runs:read');
  const write = requireScope(tokens, 'runs:write');
  const app = new Hono<ApiEnv>();

  const findRun = async (id: string): Promise<RunRecord> => {
    const run = z.uuid().safeParse(id).success ? await store.get(id) : undefined;
    if (!run) throw new ApiError(404, 'run_not_found', `no run ${id} (it may have expired after the retention period)`);
    return run;
  };

  app.post('/', write, async (c) => {
    const run = await startRun(deps, await readJson(c), { actor: c.get('token').name });
    return c.json({ id: run.id, status: run.status, nodes: run.plan.nodes, links: links(run.id) }, 202);
  });

  app.get('/', read, async (c) => {
    const parsed = listQuery.safeParse(c.req.query());
    if (!parsed.success) throw validationError(parsed.error, 'query');
    const { runs, next } = await store.list(parsed.data);
    return c.json({ runs, ...(next !== undefined ? { next: `/v1/runs?${new URLSearchParams({ ...stringify(c.req.query()), before: String(next) })}` } : {}) });
  });

  app.get('/:id', read, async (c) => {
    const run = await findRun(c.req.param('id'));
    for (const [node, state] of Object.entries(run.nodes)) {
      if (state.status !== 'queued') continue;
      const position = await deps.queuePosition(run.id, node);
      if (position !== undefined) Object.assign(state, { position });
    }
    return c.json({ ...run, links: links(run.id) });
  });

  app.delete('/:id', write, async (c) => {
    const run = await findRun(c.req.param('id'));
    if (FINAL_STATUSES.has(run.status)) throw new ApiError(409, 'run_finished', `run ${run.id} already ended (${run.status})`);
    await store.requestCancel(run.id);
    await redis.publish(keys.cancelChannel, run.id);
    for (const [node, state] of Object.entries(run.nodes)) {
      if (state.status === 'queued' && (await deps.removeWaitingNodeJob(run.id, node))) {
        await store.setNodeState(run.id, node, { status: 'cancelled', finishedAt: new Date().toISOString() });
      }
    }
    await audit(redis, { actor: c.get('token').name, action: 'run.cancel', subject: run.id });
    const after = await store.finalizeIfDone(run.id);
    return c.json({ id: run.id, status: after?.status ?? run.status, cancelRequested: true }, 202);
  });

  app.get('/:id/events', read, async (c) => {
    const run = await findRun(c.req.param('id'));
    // A reconnecting client resumes after the last event it saw.
    const resumeFrom = c.req.header('last-event-id') ?? '';
    return streamSSE(c, async (stream) => {
      const reader = deps.duplicateRedis();
      stream.onAbort(() => reader.disconnect());
      try {
        let last = /^\d+-\d+$/.test(resumeFrom) ? resumeFrom : '0';
        for (let finished = FINAL_STATUSES.has(run.status); !stream.aborted; ) {
          const reply = (await reader.xread('COUNT', 100, 'BLOCK', finished ? 1 : 5000, 'STREAMS', keys.runEvents(run.id), last)) as
            | [string, [string, string[]][]][]
            | null;
          const entries = reply?.[0]?.[1] ?? [];
          for (const [id, fields] of entries) {
            last = id;
            const event = JSON.parse(fields[1] ?? '{}') as { type: string };
            await stream.writeSSE({ id, event: event.type, data: JSON.stringify(event) });
            if (event.type === 'run-finished') finished = true;
          }
          if (finished && !entries.length) break; // everything sent, the run is over
        }
      } finally {
        reader.disconnect();
      }
    }, async (err, stream) => {
      // A client that went away mid-read closes the reader under it: not an error.
      if (!stream.aborted) log.warn('event stream failed', { runId: run.id, error: err.message });
    });
  });

  app.get('/:id/findings', read, async (c) => {
    const run = await findRun(c.req.param('id'));
    if (!FINAL_STATUSES.has(run.status)) {
      throw new ApiError(404, 'findings_not_ready', `run ${run.id} is ${run.status}; its findings are computed when it ends (follow ${links(run.id).events})`, { status: run.status });
    }
    const findings = await store.getFindings(run.id);
    if (!findings) throw new ApiError(404, 'findings_not_found', `run ${run.id} has no stored findings (it ended before analysis existed, or they expired)`);
    const counts = { critical: 0, warning: 0, info: 0 };
    for (const f of findings) if (f.severity in counts) counts[f.severity]++;
    return c.json({ runId: run.id, status: run.status, ...(run.plan.runbook ? { runbook: run.plan.runbook } : {}), counts, findings });
  });

  app.get('/:id/nodes/:node/artifacts/:name', read, async (c) => {
    const run = await findRun(c.req.param('id'));
    const node = checkNodeName(c.req.param('node'));
    const name = checkArtifactName(c.req.param('name'));
    if (!Object.hasOwn(run.nodes, node)) throw new ApiError(404, 'node_not_in_run', `run ${run.id} did not run on ${node}; nodes: ${Object.keys(run.nodes).join(', ')}`);
    const meta = await artifactMeta(redis, run.id, node, name);
    if (!meta) throw new ApiError(404, 'artifact_not_found', `no artifact ${name} for node ${node} (see the run's captures for names)`);
    await audit(redis, { actor: c.get('token').name, action: 'artifact.download', subject: run.id, details: { node, name } });
    const body = Readable.toWeb(Readable.from(artifactChunks(redis, run.id, node, meta))) as ReadableStream;
    return new Response(body, { headers: { 'content-type': meta.contentType, 'content-encoding': 'gzip' } });
  });

  return app;
}

function stringify(query: Record<string, string>): Record<string, string> {
  const { before: _before, ...rest } = query;
  return rest;
}
