// The parts of one run's page that change while it runs (sent again over SSE
// as they change): its status and each node's progress and capture state.
import type { RunRecord } from '../../model/run.js';
import { Status, Time } from '../view.js';

/** Per node, the captures that attached (from capture-live events). */
export type LiveCaptures = Map<string, Set<string>>;

export const RunStatus = ({ run }: { run: RunRecord }) => (
  <span id="run-status" role="status" aria-live="polite">
    <Status status={run.status} />
  </span>
);

export function NodeProgress({ run, live }: { run: RunRecord; live: LiveCaptures }) {
  const steps = run.plan.steps.map((s) => s.capture);
  return (
    <div id="run-nodes" class="scroll">
      <table class="cards">
        <caption class="muted">Each node's part of the run</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Status</th>
            <th scope="col">Window</th>
            <th scope="col">Captures</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(run.nodes).map(([node, state]) => {
            const attached = live.get(node) ?? new Set<string>();
            const done = new Map((state.captures ?? []).map((c) => [c.capture, c]));
            const position = (state as { position?: number }).position;
            return (
              <tr>
                <th scope="row" data-label="Node">
                  {node}
                </th>
                <td data-label="Status">
                  <Status status={state.status} />
                  {state.status === 'queued' && position !== undefined && <span class="muted"> (#{position + 1} in its queue)</span>}
                  {state.error && <div class="error">{state.error}</div>}
                </td>
                <td data-label="Window">
                  {state.status === 'running' && state.startedAt ? (
                    <span>
                      <progress
                        id={`progress-${node}`}
                        max={run.plan.durationMs}
                        value={0}
                        data-start={state.startedAt}
                        data-duration={String(run.plan.durationMs)}
                        aria-label={`Capture window on ${node}`}
                      />{' '}
                      <span id={`progress-${node}-left`} class="muted" />
                    </span>
                  ) : state.startedAt ? (
                    <span>
                      <Time iso={state.startedAt} />{' '}
                      {state.finishedAt && (
                        <>
                          → <Time iso={state.finishedAt} />
                        </>
                      )}
                    </span>
                  ) : (
                    <span class="muted">not started</span>
                  )}
                </td>
                <td data-label="Captures">
                  <ul class="captures">
                    {steps.map((capture) => {
                      const result = done.get(capture);
                      const text = result
                        ? result.error
                          ? `failed: ${result.error}`
                          : `${result.count} ${result.kind === 'events' ? 'events' : 'rows'}${result.dropped ? `, ${result.dropped} dropped` : ''}${result.cancelled ? ', cut short' : ''}`
                        : attached.has(capture)
                          ? 'capturing'
                          : state.status === 'running'
                            ? 'attaching'
                            : 'waiting';
                      return (
                        <li data-capture={capture} data-state={result ? (result.error ? 'failed' : 'done') : attached.has(capture) ? 'live' : 'pending'}>
                          <strong>{capture}</strong>: {text}
                        </li>
                      );
                    })}
                  </ul>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
