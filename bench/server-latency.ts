// Submission → probes live on an idle worker: POST /v1/runs through the real
// API, the job through BullMQ to a worker in this process, the worker's
// node-started and capture-live events (written to the run's stream, read
// back over SSE). One run at a time, each cancelled once live (so the next
// starts on an idle worker without waiting out a capture window).
import { startNodeWorker } from '../src/worker/node-worker.js';
import { fmtMs, kv, max, median, min, note, numericColumns, percentile, section, table, verdict } from './report.js';
import { followRun, requestJson, startBenchStack, type StreamEvent } from './server-common.js';

const RUNS = 40;
const NODE = 'latency-node';
const TARGET_OVER_ATTACH_MS = 20;

interface Sample {
  /** POST sent → 202 read by the client. */
  acceptMs: number;
  /** POST sent → node-started written by the worker (queue pickup and the worker's bookkeeping). */
  pickupMs: number;
  /** node-started → capture-live (the capture's open, load, attach). */
  attachMs: number;
  /** POST sent → capture-live written. */
  liveMs: number;
  /** POST sent → capture-live read by this client over SSE. */
  liveSeenMs: number;
}

const wallNow = () => performance.timeOrigin + performance.now();

async function oneRun(url: string, token: string): Promise<Sample> {
  const sentAt = wallNow();
  const t0 = performance.now();
  const reply = await requestJson(`${url}/v1/runs`, token, 'POST', { steps: [{ capture: 'execsnoop' }], duration: '30s', targets: { nodes: [NODE] } });
  const acceptMs = performance.now() - t0;
  if (reply.status !== 202) throw new Error(`POST /v1/runs answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  const id = reply.body.id as string;
  const times = new Map<string, number>();
  let liveSeenMs = Number.NaN;
  let cancel: Promise<unknown> | undefined;
  let finished: StreamEvent | undefined;
  await followRun(
    url,
    token,
    id,
    (event, arrivedAt) => {
      if (!times.has(event.type)) times.set(event.type, Date.parse(event.time));
      if (event.type === 'capture-live' && !cancel) {
        liveSeenMs = arrivedAt - t0;
        cancel = requestJson(`${url}/v1/runs/${id}`, token, 'DELETE');
      }
      if (event.type === 'run-finished') finished = event;
    },
    20_000,
  );
  const cancelled = await cancel;
  if (!finished || (cancelled as { status: number } | undefined)?.status !== 202)
    throw new Error(`run ${id} did not go live and end by cancel: ${JSON.stringify(finished)}`);
  const started = times.get('node-started');
  const live = times.get('capture-live');
  if (started === undefined || live === undefined) throw new Error(`run ${id}: missing node-started or capture-live`);
  return { acceptMs, pickupMs: started - sentAt, attachMs: live - started, liveMs: live - sentAt, liveSeenMs };
}

export async function serverLatency(): Promise<void> {
  const stack = await startBenchStack('latency');
  const worker = await startNodeWorker({ redisUrl: stack.redis.url, node: NODE, labels: {}, retentionSeconds: 3600 });
  try {
    const warm = await oneRun(stack.api.url, stack.token); // first capture in this process: cold, not counted
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) samples.push(await oneRun(stack.api.url, stack.token));

    const col = (f: (s: Sample) => number) => samples.map(f);
    const row = (label: string, xs: number[]) => [label, fmtMs(median(xs)), fmtMs(percentile(xs, 99)), fmtMs(min(xs)), fmtMs(max(xs))];
    section(`${RUNS} runs, one at a time, on an idle in-process worker (execsnoop; each cancelled once live)`);
    table(
      ['from POST sent to', 'median', 'p99', 'min', 'max'],
      [
        row(
          '202 read by the client',
          col((s) => s.acceptMs),
        ),
        row(
          'node-started (worker picked it up)',
          col((s) => s.pickupMs),
        ),
        row(
          'capture-live (probes attached)',
          col((s) => s.liveMs),
        ),
        row(
          'capture-live read over SSE',
          col((s) => s.liveSeenMs),
        ),
        row(
          '  of which attach (started → live)',
          col((s) => s.attachMs),
        ),
      ],
      numericColumns(5),
    );
    note('event times are the worker’s wall clock in whole ms (same host, same clock): ±1 ms');
    kv('first run in this process (cold)', `${fmtMs(warm.liveMs)} to live, of which ${fmtMs(warm.attachMs)} attach`);
    const overhead = col((s) => s.liveMs - s.attachMs);
    kv('submission overhead (live − attach)', `median ${fmtMs(median(overhead))}, p99 ${fmtMs(percentile(overhead, 99))}`);
    const p99 = percentile(
      col((s) => s.liveMs),
      99,
    );
    const attachP99 = percentile(
      col((s) => s.attachMs),
      99,
    );
    verdict(
      percentile(overhead, 99) <= TARGET_OVER_ATTACH_MS,
      `p99 to live ${fmtMs(p99)}; p99 of (live − attach) ${fmtMs(percentile(overhead, 99))} vs ≤${TARGET_OVER_ATTACH_MS} ms (attach p99 ${fmtMs(attachP99)})`,
    );
  } finally {
    await worker.stop();
    await stack.stop();
  }
}
