// Schedules: each with its cron, when it fires next and how its latest run
// (found among the recent runs by origin) ended; health checks are baselines.
import { Hono } from 'hono';
import type { RunService } from '../../core/runs.js';
import type { ScheduleService } from '../../core/schedules.js';
import type { SessionStore } from '../../core/sessions.js';
import { NotFound } from '../../core/errors.js';
import type { RunRecord } from '../../model/run.js';
import type { ConsoleEnv } from '../env.js';
import { page } from '../render.js';
import { needScope } from '../session.js';
import { Status, Time } from '../view.js';

const RECENT_RUNS = 200;

export interface SchedulesPageOptions {
  schedules: ScheduleService;
  runs: RunService;
  sessions: SessionStore;
}

export function schedulesPage({ schedules, runs, sessions }: SchedulesPageOptions) {
  const app = new Hono<ConsoleEnv>();

  app.get('/schedules', needScope(sessions, 'runs:read'), async (c) => {
    let list;
    try {
      list = await schedules.list();
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      return page(c, { title: 'Schedules', current: 'schedules' }, <p>{err.message}.</p>);
    }
    const latest = new Map<string, RunRecord>();
    if (list.length) {
      for (const run of (await runs.list({ limit: RECENT_RUNS })).runs) {
        const name = run.plan.origin?.schedule;
        if (typeof name === 'string' && !latest.has(name)) latest.set(name, run);
      }
    }
    return page(
      c,
      { title: 'Schedules', current: 'schedules' },
      list.length ? (
        <div class="scroll">
          <table class="cards">
            <caption class="muted">
              Cron schedules; each fire starts a run. A health-check schedule's runs are the baselines later runs are compared with.
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">When</th>
                <th scope="col">Runbook</th>
                <th scope="col">Next fire</th>
                <th scope="col">Last result</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => {
                const last = latest.get(s.name);
                const runbook = String((s.request as { runbook?: unknown }).runbook ?? '');
                return (
                  <tr>
                    <th scope="row" data-label="Name">
                      {s.name}
                    </th>
                    <td data-label="When">
                      <code>{s.cron}</code> {s.timezone ?? 'UTC'}
                    </td>
                    <td data-label="Runbook">
                      {runbook}
                      {runbook === 'health-check' && <div class="muted">baseline</div>}
                    </td>
                    <td data-label="Next fire">
                      <Time iso={s.next} />
                    </td>
                    <td data-label="Last result">
                      {last ? (
                        <a href={`/runs/${last.id}`}>
                          <Status status={last.status} /> <Time iso={last.createdAt} />
                        </a>
                      ) : (
                        <span class="muted">no run in the last {RECENT_RUNS}</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : (
        <p>
          No schedules. Create one with <code>POST /v1/schedules</code>.
        </p>
      ),
    );
  });

  return app;
}
