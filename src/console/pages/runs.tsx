// The runs: newest first, filtered by status, runbook, node, trigger and time,
// a page at a time; rows of runs still going update live (SSE).
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { invalidInput } from '../../core/errors.js';
import type { RunService } from '../../core/runs.js';
import type { SessionStore } from '../../core/sessions.js';
import { FINAL_STATUSES, RUN_STATUSES, type RunRecord } from '../../model/run.js';
import type { RunbookSource } from '../../runbooks/catalog.js';
import type { ConsoleEnv } from '../env.js';
import { fragment, page } from '../render.js';
import { findRuns, runFilterSchema, TRIGGERS, triggerOf, type RunFilter } from '../run-filter.js';
import { needScope } from '../session.js';
import { Status, Time } from '../view.js';

const PAGE_SIZE = 25;
const LIVE_POLL_MS = 1000;
const LIVE_MAX_MS = 15 * 60_000;

export interface RunsPageOptions {
  runs: RunService;
  sessions: SessionStore;
  runbooks?: RunbookSource;
}

export function RunRow({ run }: { run: RunRecord }) {
  const nodes = Object.keys(run.nodes);
  return (
    <tr id={`run-${run.id}`}>
      <td data-label="Run">
        <a href={`/runs/${run.id}`}>{run.plan.runbookTitle ?? run.plan.steps.map((s) => s.capture).join(', ')}</a>
        <div class="muted">{run.id.slice(0, 8)}</div>
      </td>
      <td data-label="Status">
        <Status status={run.status} />
      </td>
      <td data-label="Nodes">{nodes.length > 3 ? `${nodes.slice(0, 3).join(', ')} +${nodes.length - 3}` : nodes.join(', ')}</td>
      <td data-label="Trigger">
        {triggerOf(run)} <span class="muted">by {run.requestedBy}</span>
      </td>
      <td data-label="Created">
        <Time iso={run.createdAt} />
      </td>
    </tr>
  );
}

function Filters({ f, runbooks, nodes }: { f: Record<string, string>; runbooks: string[]; nodes?: string }) {
  const select = (name: string, label: string, values: readonly string[]) => (
    <div>
      <label for={`f-${name}`}>{label}</label>
      <select id={`f-${name}`} name={name}>
        <option value="">any</option>
        {values.map((v) => (
          <option value={v} selected={f[name] === v}>
            {v}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <form class="filters" method="get" action="/runs" role="search" aria-label="Filter runs">
      {select('status', 'Status', RUN_STATUSES)}
      {select('runbook', 'Runbook', runbooks)}
      <div>
        <label for="f-node">Node</label>
        <input id="f-node" name="node" value={nodes ?? ''} size={14} />
      </div>
      {select('trigger', 'Trigger', TRIGGERS)}
      <div>
        <label for="f-since">Created after (UTC)</label>
        <input id="f-since" name="since" type="datetime-local" value={f.since ?? ''} />
      </div>
      <div>
        <label for="f-until">Created before (UTC)</label>
        <input id="f-until" name="until" type="datetime-local" value={f.until ?? ''} />
      </div>
      <button type="submit">Filter</button>
      <a href="/runs">Clear</a>
    </form>
  );
}

export function runsPage({ runs, sessions, runbooks }: RunsPageOptions) {
  const app = new Hono<ConsoleEnv>();
  const read = needScope(sessions, 'runs:read');

  app.get('/', read, (c) => c.redirect('/runs', 303));

  app.get('/runs', read, async (c) => {
    const query = c.req.query();
    const parsed = runFilterSchema.safeParse(query);
    if (!parsed.success) throw invalidInput(parsed.error, 'filter');
    const filter: RunFilter = parsed.data;
    const { runs: found, next } = await findRuns(runs, filter, PAGE_SIZE);
    const going = found.filter((r) => !FINAL_STATUSES.has(r.status)).map((r) => r.id);
    const nextQuery = next
      ? new URLSearchParams({ ...Object.fromEntries(Object.entries(query).filter(([k, v]) => k !== 'before' && v)), before: next })
      : undefined;
    return page(
      c,
      { title: 'Runs', current: 'runs' },
      <div data-live={going.length ? `/runs/live?ids=${going.join(',')}` : undefined}>
        <Filters f={query} runbooks={runbooks?.names() ?? []} nodes={filter.node} />
        {found.length ? (
          <div class="scroll">
            <table class="cards">
              <caption class="muted">{`${found.length} run${found.length === 1 ? '' : 's'}${going.length ? `, ${going.length} still going (live)` : ''}`}</caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Nodes</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {found.map((run) => (
                  <RunRow run={run} />
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p>No runs match.</p>
        )}
        <nav class="pager" aria-label="Pages">
          {query.before && <a href="/runs">Newest</a>}
          {nextQuery && <a href={`/runs?${nextQuery}`}>Older runs</a>}
        </nav>
      </div>,
    );
  });

  // The rows of runs still going: each change is sent as the row's new HTML.
  app.get('/runs/live', read, (c) => {
    const ids = z
      .array(z.uuid())
      .max(PAGE_SIZE)
      .safeParse((c.req.query('ids') ?? '').split(',').filter(Boolean));
    if (!ids.success) throw invalidInput(ids.error, 'ids');
    return streamSSE(c, async (stream) => {
      const seen = new Map<string, string>();
      const until = Date.now() + LIVE_MAX_MS;
      let pending = ids.data;
      while (pending.length && !stream.aborted && Date.now() < until) {
        const still: string[] = [];
        for (const id of pending) {
          const run = await runs.find(id);
          if (!run) continue;
          const shape = JSON.stringify([run.status, Object.keys(run.nodes)]);
          if (seen.get(id) !== shape) {
            await stream.writeSSE({ event: 'fragment', data: JSON.stringify({ id: `run-${id}`, html: await fragment(<RunRow run={run} />) }) });
          }
          seen.set(id, shape);
          if (!FINAL_STATUSES.has(run.status)) still.push(id);
        }
        pending = still;
        if (pending.length) await stream.sleep(LIVE_POLL_MS);
      }
      await stream.writeSSE({ event: 'done', data: '{}' });
    });
  });

  return app;
}
