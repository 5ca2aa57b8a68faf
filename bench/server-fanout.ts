// Fan-out: one run to 50 workers. 50 `sherlock worker` processes on this host
// with distinct node names share one Redis and the API; each run is a 1 s
// execsnoop on all of them. The figure is submission → run completed minus
// the capture window: queueing, 50 attaches at once, storing 50 artifacts,
// and settling the run. Every worker is stopped (SIGTERM, then SIGKILL) after.
import type { ChildProcess } from 'node:child_process';
import { RUNS_QUEUE, nodeQueue } from '../src/redis/keys.js';
import { nodeJobId } from '../src/queue/job-ids.js';
import type { RedisClient } from '../src/redis/connection.js';
import { fmtCount, fmtMiB, fmtMs, kv, max, median, min, note, numericColumns, section, table, verdict } from './report.js';
import { followRun, processRss, requestJson, sleep, spawnWorker, startBenchStack, stopChildren, workerMajorGcs, type StreamEvent } from './server-common.js';

/** SHERLOCK_BENCH_FANOUT_WORKERS: fewer workers, to see one node's stages on a busy machine. */
const WORKERS = Number(process.env.SHERLOCK_BENCH_FANOUT_WORKERS ?? 50);
const CAPTURE_MS = 1000;
/** SHERLOCK_BENCH_FANOUT_RUNS: measured runs after the cold one. */
const RUNS = Number(process.env.SHERLOCK_BENCH_FANOUT_RUNS ?? 3);
/** 50 processes starting at once on 2 shared CPUs: minutes when other work runs beside them. */
const START_TIMEOUT_MS = 360_000;
const TARGET_MS = 1000;

interface Timeline {
  /** From POST sent, ms: first and last node-started, last capture-live, last node-finished, run-finished read. */
  firstStarted: number;
  lastStarted: number;
  lastLive: number;
  lastNodeFinished: number;
  finishedSeen: number;
  status: string;
  completedNodes: number;
  /** Per node (ms): node-started − POST sent; capture-live − node-started; node-finished − (capture-live + window). */
  pickup: number[];
  attach: number[];
  store: number[];
  /** run-finished (as the API stamped it) − last node-finished: the parent job's wake-up and finalize. */
  finalize: number;
  /** SSE arrival − run-finished's stamp: the event hub's read and the stream. */
  delivery: number;
  /** The finalize stage by BullMQ's own stamps (ms): last node-finished → its job completed → parent taken → run-finished. */
  jobDone: number;
  parentTaken: number;
  settled: number;
  /** Major garbage collections in the workers between POST and run-finished seen. */
  majorGcs: number;
}

/** BullMQ's stamps of the run's jobs, ms since the epoch: the last node job's finishedOn and the parent's processedOn. */
async function bullStamps(conn: RedisClient, runId: string, nodes: string[]): Promise<{ lastJobDone: number; parentTaken: number }> {
  const pipeline = conn.pipeline();
  for (const node of nodes) pipeline.hget(`bull:${nodeQueue(node)}:${nodeJobId(runId, node)}`, 'finishedOn');
  pipeline.hget(`bull:${RUNS_QUEUE}:${runId}`, 'processedOn');
  const replies = ((await pipeline.exec()) ?? []).map(([, value]) => Number(value));
  return { lastJobDone: max(replies.slice(0, -1)), parentTaken: replies.at(-1)! };
}

const wallNow = () => performance.timeOrigin + performance.now();

/** Redis's AOF rewrites so far and whether one runs now: a fork that slows every command while it copies. */
async function persistenceForks(conn: RedisClient): Promise<{ rewrites: number; inProgress: boolean }> {
  const info = await conn.info('persistence');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { rewrites: field('aof_rewrites'), inProgress: field('aof_rewrite_in_progress') === 1 };
}

async function fanOutRun(url: string, token: string, nodes: string[], conn: RedisClient): Promise<Timeline> {
  const sentAt = wallNow();
  const t0 = performance.now();
  const reply = await requestJson(`${url}/v1/runs`, token, 'POST', { steps: [{ capture: 'execsnoop' }], duration: CAPTURE_MS, targets: { nodes } });
  if (reply.status !== 202) throw new Error(`POST /v1/runs answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  const id = reply.body.id as string;
  const at = (e: StreamEvent) => Date.parse(e.time) - sentAt;
  const started: number[] = [];
  const live: number[] = [];
  const nodeFinished: number[] = [];
  const byNode = new Map<string, { started?: number; live?: number; finished?: number }>();
  const of = (e: StreamEvent) => byNode.get(e.node ?? '') ?? byNode.set(e.node ?? '', {}).get(e.node ?? '')!;
  let finishedSeen = Number.NaN;
  let finishedAt = Number.NaN;
  let status = '';
  await followRun(
    url,
    token,
    id,
    (event, arrivedAt) => {
      if (event.type === 'node-started') started.push((of(event).started = at(event)));
      if (event.type === 'capture-live') live.push((of(event).live ??= at(event)));
      if (event.type === 'node-finished') nodeFinished.push((of(event).finished = at(event)));
      if (event.type === 'run-finished') {
        finishedSeen = arrivedAt - t0;
        finishedAt = at(event);
        status = String(event.status);
      }
    },
    CAPTURE_MS + 60_000,
  );
  const run = await requestJson(`${url}/v1/runs/${id}`, token);
  const completedNodes = Object.values(run.body.nodes as Record<string, { status: string }>).filter((n) => n.status === 'completed').length;
  const bull = await bullStamps(conn, id, nodes);
  return {
    firstStarted: min(started),
    lastStarted: max(started),
    lastLive: max(live),
    lastNodeFinished: max(nodeFinished),
    finishedSeen,
    status,
    completedNodes,
    pickup: started,
    attach: [...byNode.values()].flatMap((n) => (n.live !== undefined && n.started !== undefined ? [n.live - n.started] : [])),
    store: [...byNode.values()].flatMap((n) => (n.finished !== undefined && n.live !== undefined ? [n.finished - n.live - CAPTURE_MS] : [])),
    finalize: finishedAt - max(nodeFinished),
    // arrivedAt is on this process's clock from t0; the stamp on the wall clock from sentAt.
    delivery: finishedSeen - finishedAt,
    jobDone: bull.lastJobDone - sentAt - max(nodeFinished),
    parentTaken: bull.parentTaken - bull.lastJobDone,
    settled: finishedAt - (bull.parentTaken - sentAt),
    majorGcs: workerMajorGcs.filter((t) => t >= t0 && t <= t0 + finishedSeen).length,
  };
}

export async function serverFanout(): Promise<void> {
  const stack = await startBenchStack('fanout');
  const workers: ChildProcess[] = [];
  try {
    const nodes = Array.from({ length: WORKERS }, (_, i) => `fan-${i}`);
    const t0 = performance.now();
    // The run's capture is kept warm, as a deployed worker's default (all) keeps it; warming every
    // capture in 50 processes at once would load ~50 × 15 objects through the verifier on 2 CPUs.
    for (const node of nodes) workers.push(spawnWorker(node, stack.redis.url, ['--warm', 'execsnoop'], { traceMajorGcs: true }));
    let live = 0;
    for (let i = 0; live < WORKERS; i++) {
      const dead = workers.find((w) => w.exitCode !== null || w.signalCode !== null);
      if (dead) throw new Error(`a worker exited during start-up (${dead.exitCode ?? dead.signalCode})`);
      if (performance.now() - t0 > START_TIMEOUT_MS) throw new Error(`only ${live}/${WORKERS} workers live after ${START_TIMEOUT_MS / 1000} s`);
      await sleep(i === 0 ? 500 : 250);
      // A starved API may miss the 10 s reply deadline while 50 workers start: ask again.
      const reply = await requestJson(`${stack.api.url}/v1/nodes`, stack.token).catch(() => undefined);
      if (reply) live = (reply.body.nodes as { name: string }[]).filter((n) => n.name.startsWith('fan-')).length;
    }
    const startMs = performance.now() - t0;
    const rss = workers.map((w) => processRss(w.pid!));
    note(`${WORKERS} worker processes (node bin/sherlock.js worker --node fan-N --warm execsnoop), one Redis, the API in this process`);
    kv('all workers live after', fmtMs(startMs));
    kv('worker RSS idle (each)', `median ${fmtMiB(median(rss))}, max ${fmtMiB(max(rss))}; all ${fmtMiB(rss.reduce((a, b) => a + b, 0))}`);

    const warm = await fanOutRun(stack.api.url, stack.token, nodes, stack.conn); // first capture in every worker: cold
    const runs: Timeline[] = [];
    const forks: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const before = await persistenceForks(stack.conn);
      runs.push(await fanOutRun(stack.api.url, stack.token, nodes, stack.conn));
      const after = await persistenceForks(stack.conn);
      if (after.rewrites > before.rewrites || after.inProgress) forks.push(`#${i + 1}`);
    }

    section(`${RUNS} runs of a ${CAPTURE_MS} ms execsnoop on ${WORKERS} nodes (after one cold run), ms from POST sent`);
    const row = (label: string, r: Timeline) => [
      label,
      r.status,
      `${r.completedNodes}/${WORKERS}`,
      fmtMs(r.firstStarted),
      fmtMs(r.lastStarted),
      fmtMs(r.lastLive),
      fmtMs(r.lastNodeFinished),
      fmtMs(r.finishedSeen),
      fmtMs(r.finishedSeen - CAPTURE_MS),
      String(r.majorGcs),
    ];
    table(
      ['run', 'status', 'nodes ok', '1st started', 'last started', 'last live', 'last node done', 'run done (SSE)', 'minus window', "workers' major GCs"],
      [row('cold', warm), ...runs.map((r, i) => row(`#${i + 1}`, r))],
      numericColumns(10),
    );
    section('where the time beyond the window goes, per run (ms; per node: median / max over the 50)');
    const mm = (xs: number[]) => `${fmtMs(median(xs))} / ${fmtMs(max(xs))}`;
    table(
      ['run', 'pickup (POST → node-started)', 'attach (started → live)', 'store (live + window → node done)', 'finalize', 'SSE delivery'],
      [warm, ...runs].map((r, i) => [i === 0 ? 'cold' : `#${i}`, mm(r.pickup), mm(r.attach), mm(r.store), fmtMs(r.finalize), fmtMs(r.delivery)]),
      numericColumns(6),
    );
    section("the finalize stage by BullMQ's stamps (ms)");
    table(
      ['run', 'last node-finished → its job completed', 'job completed → parent taken', 'parent taken → run-finished'],
      [warm, ...runs].map((r, i) => [i === 0 ? 'cold' : `#${i}`, fmtMs(r.jobDone), fmtMs(r.parentTaken), fmtMs(r.settled)]),
      numericColumns(4),
    );
    const over = runs.map((r) => r.finishedSeen - CAPTURE_MS);
    const peak = workers.map((w) => processRss(w.pid!));
    kv('worker RSS after the runs (each)', `median ${fmtMiB(median(peak))}, max ${fmtMiB(max(peak))}`);
    kv('runs with a Redis AOF rewrite (a fork)', forks.length ? forks.join(', ') : 'none');
    kv('nodes completed, all runs', `${fmtCount(runs.reduce((a, r) => a + r.completedNodes, 0))}/${fmtCount(RUNS * WORKERS)}`);
    note('“last live” − “1st started” is mostly 50 BPF loads (verifier) contending for 2 CPUs');
    const allOk = runs.every((r) => r.status === 'completed' && r.completedNodes === WORKERS);
    verdict(
      allOk && median(over) <= TARGET_MS,
      `median ${fmtMs(median(over))} (worst ${fmtMs(max(over))}) over the window vs ≤${TARGET_MS} ms${allOk ? '' : '; NOT all nodes completed'}`,
    );
  } finally {
    await stopChildren(workers, 'SIGTERM', 10_000);
    await stack.stop();
  }
}
