// `sherlock run --wait`: follows the run on its SSE stream (a poll beside it
// for queue positions and missed ends), then prints the outcome and findings
// and downloads the bundle. Ctrl-C stops following, not the run.
import { FINAL_STATUSES } from '../../model/run.js';
import { ApiRequestError, type ApiClient } from '../api-client.js';
import { downloadBundle } from './download.js';
import { outcome, printFindings } from './outcome.js';
import { RunProgress } from './progress.js';
import { cancelHint } from './status.js';
import type { RunView, Submitted } from './view.js';

export async function followRun(client: ApiClient, submitted: Submitted, base: string, out: (id: string) => string): Promise<number> {
  const { id } = submitted;
  const interrupt = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  const onSignal = (name: NodeJS.Signals) => {
    signalName = name;
    interrupt.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = Boolean(process.stderr.isTTY);
  const view = new RunProgress(submitted.nodes, {
    tty,
    write: (s) => process.stderr.write(s),
    columns: () => process.stderr.columns || 80,
    rows: () => process.stderr.rows || 24,
  });
  process.stderr.write(
    `run ${id} submitted to ${submitted.nodes.length} node${submitted.nodes.length === 1 ? '' : 's'}; Ctrl-C stops following, not the run\n`,
  );
  let run: RunView | undefined;
  try {
    run = await follow(client, id, view, interrupt.signal);
    view.close(run);
    process.stdout.write(outcome(run) + '\n');
    const ok = await printFindings(client, run);
    const downloaded = await downloadBundle(client, run, out(id), base, interrupt.signal);
    return run.status === 'completed' && ok && downloaded ? 0 : 1;
  } catch (err) {
    if (!interrupt.signal.aborted) throw err;
    view.close(run);
    const code = signalName === 'SIGTERM' ? 143 : 130;
    if (run) {
      process.stderr.write(
        `\nstopped; run ${id} has ended (${run.status}). Its report: curl -fo sherlock-${id}.tar.gz -H "Authorization: Bearer $SHERLOCK_TOKEN" ${base}/v1/runs/${id}/report\n`,
      );
    } else {
      process.stderr.write(`\nstopped following run ${id}; ${cancelHint(id, base)}\n`);
    }
    return code;
  } finally {
    view.close(run);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Follows the run's SSE stream to its end and returns the final run. A poll
 * beside it shows queue positions and notices a run that ended while the
 * stream was away; a dropped stream is reopened (the server replays it, the
 * client skips what it saw).
 */
async function follow(client: ApiClient, id: string, view: RunProgress, interrupt: AbortSignal): Promise<RunView> {
  const stream = new AbortController();
  const stopStream = () => stream.abort();
  interrupt.addEventListener('abort', stopStream, { once: true });
  let finished = false;
  let polling = true;
  const poll = (async () => {
    while (polling && !interrupt.aborted) {
      await sleep(view.anyQueued() ? 2_000 : 10_000, stream.signal);
      if (!polling || interrupt.aborted) return;
      const run = await client.call('getRun', { path: { id } }).catch(() => undefined);
      if (run) view.update(run);
      if (run && FINAL_STATUSES.has(run.status)) {
        await sleep(2_000, stream.signal); // the stream normally ends by itself now
        finished = true;
        stream.abort();
        return;
      }
    }
  })();
  let last: string | undefined;
  let failures = 0;
  try {
    while (!finished) {
      let error: unknown;
      try {
        await client.events(
          `/v1/runs/${id}/events`,
          (e) => {
            last = e.id || last;
            failures = 0;
            view.event(e);
            if (e.event === 'run-finished') finished = true;
          },
          { signal: stream.signal, after: last },
        );
      } catch (err) {
        error = err;
      }
      if (interrupt.aborted) throw interrupt.reason ?? new Error('interrupted');
      if (finished) break;
      if (error instanceof ApiRequestError && error.status !== undefined && error.status < 500) throw error;
      // The API may be restarting: retry for about a minute before giving up.
      if (++failures > 12) throw error ?? new ApiRequestError(`the event stream of run ${id} keeps ending before the run does`);
      const run = await client.call('getRun', { path: { id } }).catch(() => undefined);
      if (run) view.update(run);
      if (run && FINAL_STATUSES.has(run.status)) break;
      await sleep(Math.min(1000 * failures, 5000), interrupt);
    }
  } finally {
    polling = false;
    stream.abort();
    interrupt.removeEventListener('abort', stopStream);
    await poll;
  }
  if (interrupt.aborted) throw new Error('interrupted');
  // The record, not the stream, has the per-capture summaries; it is final by now.
  return client.call('getRun', { path: { id } });
}
