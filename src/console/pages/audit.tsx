// The audit log (admins): who did what to which run or token, newest first.
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuditLog } from '../../core/audit.js';
import { invalidInput } from '../../core/errors.js';
import type { SessionStore } from '../../core/sessions.js';
import type { ConsoleEnv } from '../env.js';
import { page } from '../render.js';
import { needScope } from '../session.js';
import { Time } from '../view.js';

const PAGE_SIZE = 50;
const query = z.object({
  before: z
    .string()
    .regex(/^\d+-\d+$/, 'before is the cursor of the next-page link')
    .optional(),
});

export function auditPage({ audit, sessions }: { audit: AuditLog; sessions: SessionStore }) {
  const app = new Hono<ConsoleEnv>();

  app.get('/audit', needScope(sessions, 'admin'), async (c) => {
    const parsed = query.safeParse(c.req.query());
    if (!parsed.success) throw invalidInput(parsed.error, 'query');
    const entries = await audit.read(PAGE_SIZE, parsed.data.before);
    const last = entries.at(-1);
    return page(
      c,
      { title: 'Audit log', current: 'audit' },
      <div>
        <div class="scroll">
          <table class="cards">
            <caption class="muted">Every run start, cancel, download, token change and console sign-in</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Subject</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr>
                  <td data-label="Time">
                    <Time iso={e.time} />
                  </td>
                  <td data-label="Who">{e.actor}</td>
                  <td data-label="Action">{e.action}</td>
                  <td data-label="Subject">
                    {/^[0-9a-f-]{36}$/.test(e.subject) && /^(run|report|artifact)\./.test(e.action) ? (
                      <a href={`/runs/${e.subject}`}>{e.subject}</a>
                    ) : (
                      e.subject
                    )}
                  </td>
                  <td data-label="Details">{e.details !== undefined && <code>{JSON.stringify(e.details).slice(0, 300)}</code>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <nav class="pager" aria-label="Pages">
          {parsed.data.before && <a href="/audit">Newest</a>}
          {entries.length === PAGE_SIZE && last && <a href={`/audit?before=${last.id}`}>Older entries</a>}
        </nav>
      </div>,
    );
  });

  return app;
}
