// The nodes: up or down (from heartbeats), the last one, the run each is on
// and its queue, its kernel and what it can capture.
import { Hono } from 'hono';
import { captureNames } from '../../captures/registry.js';
import type { NodeService } from '../../core/nodes.js';
import type { SessionStore } from '../../core/sessions.js';
import type { ConsoleEnv } from '../env.js';
import { page } from '../render.js';
import { needScope } from '../session.js';
import { Status, Time } from '../view.js';

export interface NodesPageOptions {
  nodes: NodeService;
  sessions: SessionStore;
}

export function nodesPage({ nodes, sessions }: NodesPageOptions) {
  const app = new Hono<ConsoleEnv>();

  app.get('/nodes', needScope(sessions, 'runs:read'), async (c) => {
    const known = await nodes.known();
    const queues = await Promise.all(known.map((n) => (n.live ? nodes.queueCounts(n.name).catch(() => undefined) : Promise.resolve(undefined))));
    const all = captureNames();
    return page(
      c,
      { title: 'Nodes', current: 'nodes' },
      known.length ? (
        <div class="scroll">
          <table class="cards">
            <caption class="muted">{`${known.filter((n) => n.live).length} of ${known.length} up; a node is down 15 s after its last heartbeat`}</caption>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">State</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Running</th>
                <th scope="col">Kernel and captures</th>
              </tr>
            </thead>
            <tbody>
              {known.map((n, i) => {
                const missing = all.filter((name) => !n.captures.includes(name));
                const q = queues[i] as Record<string, number> | undefined;
                return (
                  <tr>
                    <th scope="row" data-label="Node">
                      {n.name}
                      <div class="muted">
                        {Object.entries(n.labels)
                          .map(([k, v]) => `${k}=${v}`)
                          .join(' ')}
                      </div>
                    </th>
                    <td data-label="State">
                      <Status status={n.live ? 'up' : 'down'} />
                    </td>
                    <td data-label="Heartbeat">
                      <Time iso={n.lastSeen} />
                    </td>
                    <td data-label="Running">
                      {n.currentRun ? <a href={`/runs/${n.currentRun}`}>{n.currentRun.slice(0, 8)}</a> : <span class="muted">idle</span>}
                      {q && (q.waiting ?? 0) > 0 && <div class="muted">{q.waiting} waiting</div>}
                    </td>
                    <td data-label="Kernel">
                      {n.kernel} {n.btf ? '(BTF)' : <strong>(no BTF: CO-RE captures cannot load)</strong>}
                      <div class="muted">
                        {missing.length ? `lacks ${missing.join(', ')}` : `all ${all.length} captures`}; worker {n.version}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : (
        <p>
          No worker has sent a heartbeat. Start one with <code>sherlock worker --node NAME</code>.
        </p>
      ),
    );
  });

  return app;
}
