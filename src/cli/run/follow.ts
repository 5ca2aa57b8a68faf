// `sherlock run`: follows the run on its SSE stream (a poll beside it for
// queue positions and missed ends) and its live stream (streaming captures'
// events as they arrive), then prints the outcome and findings and downloads
// the bundle. Ctrl-C stops the run's window (what was captured is kept and
// reported); a second Ctrl-C leaves at once.
import { FINAL_STATUSES } from '../../model/run.js';
import { ApiRequestError, isMissingRoute, type ApiClient } from '../api-client.js';
import { downloadBundle } from './download.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TERMINATED, runExitCode } from './exit-codes.js';
import { followLive } from './live.js';
import { aboveInfo, findingsText, outcome, readFindings } from './outcome.js';
import { Printer } from './printer.js';
import { RunProgress } from './progress.js';
import { cancelHint } from './status.js';
import type { RunView, Submitted } from './view.js';

export interface FollowOptions {
  json: boolean;
  /** The run captures until stopped (no --duration). */
  untilStopped: boolean;
}

/** After the run ended, how long the live stream may take to deliver its last batches. */
const LIVE_TAIL_MS = 5_000;

export async function followRun(client: ApiClient, submitted: Submitted, base: string, out: (id: string) => string, options: FollowOptions): Promise<number> {
  const { id } = submitted;
  const leave = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  let stopping: Promise<void> | undefined;
  const tty = Boolean(process.stderr.isTTY);
  const printer = new Printer(options.json);
  const view = new RunProgress(
    submitted.nodes,
    { tty, write: (s) => process.stderr.write(s), columns: () => process.stderr.columns || 80, rows: () => process.stderr.rows || 24 },
    Date.now,
    { untilStopped: options.untilStopped },
  );
  printer.attach(view);
  // The first Ctrl-C ends the window on every node (the run completes with what it has); the next one leaves.
  const onSignal = (name: NodeJS.Signals) => {
    if (name === 'SIGINT' && !stopping && !leave.signal.aborted) {
      stopping = stopRun(client, id, view).catch((err: Error) => {
        process.stderr.write(`sherlock: could not stop run ${id}: ${err.message}; leaving\n`);
        signalName = name;
        leave.abort();
      });
      return;
    }
    signalName = name;
    leave.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const nodes = `${submitted.nodes.length} node${submitted.nodes.length === 1 ? '' : 's'}`;
  printer.record({ type: 'run', id, status: submitted.status, nodes: submitted.nodes });
  process.stderr.write(
    `run ${id} submitted to ${nodes}; ${options.untilStopped ? 'capturing until Ctrl-C' : 'Ctrl-C ends the window early'} and reports what was captured\n`,
  );
  const live = followLive(client, id, printer, leave.signal, submitted.nodes).catch((err: Error) => {
    if (!leave.signal.aborted) process.stderr.write(`sherlock: live events: ${err.message}\n`);
  });
  let run: RunView | undefined;
  try {
    run = await follow(client, id, view, leave.signal);
    // The last live batches were stored before the nodes finished; the stream ends right after the run.
    await Promise.race([live, new Promise((resolve) => setTimeout(resolve, LIVE_TAIL_MS).unref())]);
    view.close(run);
    const say = (text: string) => void (options.json ? process.stderr : process.stdout).write(text);
    say(outcome(run) + '\n');
    const read = await readFindings(client, run);
    if (options.json) for (const f of read.findings ?? []) printer.record({ type: 'finding', ...f });
    else say(findingsText(run, read));
    const file = await downloadBundle(client, run, out(id), base, leave.signal, say);
    const failed = run.status !== 'completed' || read.refused || file === false;
    const code = runExitCode(aboveInfo(read.findings), failed);
    printer.record({
      type: 'run',
      id,
      status: run.status,
      nodes: Object.fromEntries(Object.entries(run.nodes).map(([n, s]) => [n, s.status])),
      findings: read.findings?.length ?? null,
      report: file || null,
      exitCode: code,
    });
    return code;
  } catch (err) {
    if (!leave.signal.aborted) {
      if (err instanceof ApiRequestError) {
        view.close(run);
        process.stderr.write(`sherlock: ${err.message}\n`);
        return EXIT_FAILURE;
      }
      throw err;
    }
    view.close(run);
    const code = signalName === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
    if (run) {
      process.stderr.write(
        `\nleft; run ${id} has ended (${run.status}). Its report: curl -fo sherlock-${id}.tar.gz -H "Authorization: Bearer $SHERLOCK_TOKEN" ${base}/v1/runs/${id}/report\n`,
      );
    } else {
      process.stderr.write(`\nleft run ${id} without waiting; ${stopping ? 'it is stopping and then finishes by itself' : cancelHint(id, base)}\n`);
    }
    return code;
  } finally {
    view.close(run);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** POST /v1/runs/:id/stop; a run that already ended is not an error. An API without the route cannot stop: leave as before. */
async function stopRun(client: ApiClient, id: string, view: RunProgress): Promise<void> {
  view.stopRequested();
  try {
    await client.call('stopRun', { path: { id } });
  } catch (err) {
    if (err instanceof ApiRequestError && err.code === 'run_finished') return;
    if (isMissingRoute(err)) throw new ApiRequestError('this API cannot stop a run early (no POST /v1/runs/:id/stop)');
    throw err;
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
