// A host's worker: consumes its node queue one run at a time, heartbeats what
// it can do, and stops a run at once when the API publishes a cancel or a stop. It never
// listens on a port. What a run needs beyond the warm pool (the run path: results,
// analysis, Falco rules, run records) is imported when the first run arrives, so an
// idle worker does not hold it (issue 17: ~1.5 MiB of V8 heap).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { createRequire } from 'node:module';
import type { Job, Worker as QueueWorker } from 'bullmq';
import { CAPTURE_NAMES } from '../captures/capture-names.js';
import { nodeJobId } from '../queue/job-ids.js';
import { connectRedis, settlesWithin } from '../redis/connection.js';
import { keys, nodeQueue } from '../redis/keys.js';
import { describeHolder, Lease, type LeaseAttempt, type LeaseHolder } from '../redis/lease.js';
import { addShared } from '../redis/shared-metrics.js';
import { nodeJobIncrements } from './node-metrics.js';
import { HEARTBEAT_INTERVAL_MS, heartbeatWhileHeld, NODE_TTL_MS, withdrawNode, workerProcess } from '../nodes/registry.js';
import type { SecretPattern } from '../redact/index.js';
import type { RunStore } from '../runs/store.js';
import { STOP_REASON, type NodeJobData } from '../model/run.js';
import { createLogger } from '../util/logger.js';
import { DEFAULT_WORKER_EVENT_SPOOL_MIB } from '../model/limits.js';
import { removeStaleSpools } from './run-spool.js';
import { jitteredOnce } from '../util/jittered-once.js';
import type { OwnCgroup } from './own-cgroup.js';
import type { runNodeJob as RunNodeJob } from './run-node-job.js';
import { WarmPool } from '../captures/warm-pool.js';
import { trimNativeHeap } from '../libbpf/index.js';
import { compactHeap } from '../util/compact-heap.js';
import { deferRequire } from '../util/deferred-require.js';
import { releaseOptimizingCompiler } from '../util/optimizing-compiler.js';
import { WARM_POOL_MAX_MIB, warmSettings } from './warm-captures.js';

const VERSION = '0.1.0';
// bullmq's Worker class alone: its index also loads every backend and class it ships (Postgres
// with 0.25 MiB of SQL, valkey-glide, queues, flows; ~1.2 MiB of an idle worker's heap). The
// same compiled file the index exports, so its Job and errors are the ones the rest of Sherlock sees.
// Its job scheduler's cron-parser (with luxon) is loaded only if a job on this queue is a scheduler's.
const requireHere = createRequire(import.meta.url);
deferRequire(requireHere.resolve('bullmq/dist/cjs/classes/job-scheduler.js'), 'cron-parser');
const { Worker } = requireHere('bullmq/dist/cjs/classes/worker.js') as { Worker: typeof QueueWorker };
/** How long stop() waits for a running job to store its results and report back. */
const STOP_GRACE_MS = 10_000;

// Process-wide, shared by the node workers of one process (the fleet simulation runs hundreds):
// the process's figures for heartbeats, read at most once a second (getrusage and the memory
// figures were ~20% of a simulation process's CPU at a 1,000-node start), and the C heap's
// trim after runs, once per idle spell a second after the last run ended (malloc_trim walks the
// whole heap: a few ms each, that held up the next jobs' reports).
const FIGURES_MAX_AGE_MS = 1_000;
let figures: { at: number; value: ReturnType<typeof workerProcess> } | undefined;
const processFigures = () => {
  const now = Date.now();
  if (!figures || now - figures.at >= FIGURES_MAX_AGE_MS) figures = { at: now, value: workerProcess() };
  return figures.value;
};
/** A started node says it is busy this long after its start at the earliest, and at the latest twice as long. */
const BUSY_BEAT_AFTER_MS = 250;
const TRIM_AFTER_RUN_MS = 1_000;
let runsInProcess = 0;
let trimTimer: NodeJS.Timeout | undefined;
const trimWhenIdle = () => {
  clearTimeout(trimTimer);
  trimTimer = setTimeout(() => {
    if (runsInProcess === 0) trimNativeHeap();
  }, TRIM_AFTER_RUN_MS).unref();
};

export interface NodeWorkerOptions {
  redisUrl: string;
  node: string;
  labels: Record<string, string>;
  retentionSeconds: number;
  /** The operator's secret patterns (config `redaction.patterns`), besides the built-in ones. */
  redaction?: readonly SecretPattern[];
  /** Sherlock's own cgroup (enterOwnCgroup): left out of this worker's host-wide captures. */
  own?: OwnCgroup;
  /** Operator Falco rule files and directories (SHERLOCK_FALCO_RULES). */
  falcoRules?: string[];
  /** Captures whose objects are kept loaded between runs (warm-captures.ts); none when absent. */
  warm?: readonly string[];
  /** load.workerEventSpoolMiB: what the event captures of one run may spool to disk, shared among them. */
  eventSpoolMiB?: number;
}

export interface NodeWorker {
  node: string;
  stop(): Promise<void>;
}

/** Another live worker process holds this node name. */
export class NodeNameInUseError extends Error {
  constructor(
    readonly node: string,
    readonly holder: LeaseHolder | undefined,
    readonly expiresInMs: number,
  ) {
    super(
      `node name "${node}" is held by another worker, ${describeHolder(holder)}; ` +
        `stop that worker or pick another --node (if it died, its hold expires within ${Math.ceil(expiresInMs / 1000)} s)`,
    );
  }
}

export async function startNodeWorker(options: NodeWorkerOptions): Promise<NodeWorker> {
  const { node } = options;
  const log = createLogger({ component: 'worker', node });
  const redis = connectRedis(options.redisUrl, `sherlock-worker-${node}`);
  const subscriber = connectRedis(options.redisUrl, `sherlock-worker-${node}-cancel`);
  const bullConnection = connectRedis(options.redisUrl, `sherlock-worker-${node}-bullmq`);
  // Loaded with the first run, once (see the header).
  let runPath: Promise<{ store: RunStore; runNodeJob: typeof RunNodeJob }> | undefined;
  const loadRunPath = () =>
    (runPath ??= Promise.all([import('../runs/store.js'), import('./run-node-job.js')])
      .then(([{ RunStore }, { runNodeJob }]) => ({
        store: new RunStore(redis, { retentionSeconds: options.retentionSeconds }),
        runNodeJob,
      }))
      .catch((err: unknown) => {
        runPath = undefined; // the next run tries again
        throw err;
      }));
  let currentRun: string | undefined;
  // What the last run left to finish after it reported (its probes coming off, its spool's removal): the next run and stop() wait for it.
  const finishing = new Set<Promise<void>>();
  const afterReport = (work: Promise<void>) => {
    finishing.add(work);
    void work.finally(() => finishing.delete(work));
  };
  const finished = () => Promise.all([...finishing]);
  const pool = options.warm?.length ? new WarmPool({ maxKernelBytes: WARM_POOL_MAX_MIB * 2 ** 20 }) : undefined;

  // One worker per node name: a lease renewed with every heartbeat, free once
  // its holder stops renewing (NODE_TTL_MS, as long as a node counts as live).
  const lease = new Lease(redis, keys.nodeLease(node), NODE_TTL_MS);
  const first = await lease.acquire().catch((err: Error) => err);
  if (first instanceof Error || !first.held) {
    for (const connection of [subscriber, bullConnection, redis]) connection.disconnect();
    await pool?.close();
    if (first instanceof Error) throw first;
    throw new NodeNameInUseError(node, first.holder, first.expiresInMs);
  }
  let holding = true;
  // A worker that died mid-run left its run's spooled events behind.
  const stale = removeStaleSpools();
  if (stale) log.info('removed spool directories of workers no longer running', { count: stale });
  // Set once the queue worker exists; the first heartbeat may come before that.
  const workerRef: { current?: QueueWorker<NodeJobData> } = {};
  /** Follows the lease: lost (our hold expired while Redis was away and another worker took the name), stop taking runs until it is ours again. */
  const follow = async (attempt: LeaseAttempt): Promise<void> => {
    if (attempt.held === holding) return;
    holding = attempt.held;
    if (!attempt.held) {
      log.error('node name taken over by another worker; not taking runs', { holder: describeHolder(attempt.holder) });
      await workerRef.current?.pause(true);
    } else {
      log.info('node name held again; taking runs');
      await workerRef.current?.resume();
    }
  };

  // What a heartbeat says that does not change while the process runs (BTF comes with the kernel).
  const fixed = { name: node, labels: options.labels, kernel: release(), btf: existsSync('/sys/kernel/btf/vmlinux'), captures: [...CAPTURE_NAMES] };
  // Renews the name's lease and, while held, writes the heartbeat: one script.
  const heartbeat = () =>
    heartbeatWhileHeld(lease, {
      ...fixed,
      busy: currentRun !== undefined,
      ...(currentRun ? { currentRun } : {}),
      version: VERSION,
      process: processFigures(),
    })
      .then(follow)
      .catch((err) => log.warn('heartbeat failed', { error: (err as Error).message }));

  /**
   * Once, when start-up is over: what it freed goes back to the kernel, V8's heap compacted
   * (~8 MiB; one pause, 0.24 s at load ~5, before any run as a rule) and then the C heap. After a
   * run only the C heap: a run's own major GCs start V8's memory reducer, and compacting a
   * heap a storm grew would stall the next run's start.
   */
  const startUpOver = () => {
    compactHeap();
    trimNativeHeap();
  };
  // Idle again (a run over, its warm objects replaced): what the run freed to malloc goes back.
  const idleAgain = async () => {
    await pool?.settled();
    if (currentRun === undefined) trimWhenIdle();
  };

  const busyBeat = jitteredOnce(heartbeat, BUSY_BEAT_AFTER_MS);
  const jobs = new Worker<NodeJobData>(
    nodeQueue(node),
    async (job: Job<NodeJobData>, _token: string | undefined, signal: AbortSignal | undefined) => {
      const { runId } = job.data;
      currentRun = runId;
      runsInProcess++;
      // Held by `sherlock worker` from its start until its first run: idle, the first function hot enough (node's own
      // argument checks, after ~10 s of heartbeats) would page in ~3.7 MiB of TurboFan's code for good. A run decodes optimized.
      releaseOptimizingCompiler();
      try {
        // A cancel or stop requested before this pickup: runNodeJob's start cancels the node instead.
        const [{ store, runNodeJob }] = await Promise.all([loadRunPath(), finished()]);
        const state = await runNodeJob(job.data, {
          redis,
          store,
          retentionSeconds: options.retentionSeconds,
          signal,
          falcoRules: options.falcoRules ?? [],
          redaction: options.redaction,
          ...(pool ? { pool } : {}),
          ...(options.own ? { own: options.own } : {}),
          eventSpoolBytes: (options.eventSpoolMiB ?? DEFAULT_WORKER_EVENT_SPOOL_MIB) * 1024 * 1024,
          afterReport,
          // Busy, with its run, soon after the node has started: not on the way to starting, nor in the
          // burst of a fan-out's starts (every node's script at once, on the Redis the rest are starting on).
          onStarted: () => busyBeat.schedule(),
        });
        // Counted after the job completes: BullMQ's completion releases the run's finalize, a metric need not go first.
        afterReport(
          addShared(redis, nodeJobIncrements(node, state)).catch((err: unknown) => log.warn('node job metrics not counted', { error: (err as Error).message })),
        );
        if (state.status === 'failed') throw new Error(state.error ?? 'every capture failed');
        return { node, status: state.status };
      } finally {
        busyBeat.cancel();
        currentRun = undefined;
        runsInProcess--;
        void heartbeat();
        void idleAgain();
      }
    },
    // One run at a time per host; a crashed worker's job fails instead of re-running.
    // Idle, a worker costs Redis one blocking pop per drainDelay and one stalled-job scan per
    // stalledInterval: with thousands of idle nodes, 30 s and 60 s instead of BullMQ's 5 s and
    // 30 s. A new run still wakes the pop at once (BullMQ's marker key). The reaper, not the
    // stalled scan, fails the run of a worker that died (its queue has no other consumer).
    { connection: bullConnection, concurrency: 1, maxStalledCount: 0, drainDelay: 30, stalledInterval: 60_000 },
  );
  workerRef.current = jobs;
  jobs.on('error', (err) => log.warn('worker error', { error: err.message }));

  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel, message: string) => {
    // "<id>" cancels a run, "stop:<id>" ends its window early (the node completes with what it captured).
    const stop = message.startsWith('stop:');
    const runId = stop ? message.slice(5) : message;
    if (runId === currentRun) jobs.cancelJob(nodeJobId(runId, node), stop ? STOP_REASON : 'cancelled through the API');
  });

  await heartbeat();
  const beat = setInterval(heartbeat, HEARTBEAT_INTERVAL_MS);
  log.info('worker started', { queue: nodeQueue(node) });
  if (!pool || !options.warm) startUpOver(); // start-up's parsing and compiling is over
  // In the background, one object at a time: the worker takes runs meanwhile (they start cold).
  if (pool && options.warm) {
    const t0 = Date.now();
    void warmSettings(options.warm, options.own)
      .then((settings) => pool.warm(settings))
      .then(() => {
        const { objects, kernelBytes } = pool.memory();
        if (currentRun === undefined) startUpOver();
        log.info('warm pool ready', { objects, kernelMiB: Math.round((kernelBytes / 2 ** 20) * 10) / 10, ms: Date.now() - t0 });
      })
      .catch((err) => log.warn('warm pool not loaded; runs start cold', { error: (err as Error).message }));
  }

  return {
    node,
    async stop() {
      clearInterval(beat);
      busyBeat.cancel();
      jobs.cancelAllJobs('worker stopping'); // detach now; the run keeps what was captured
      // Storing what was captured and reporting back need Redis: if it is away, stop anyway
      // (disconnecting fails the commands still waiting for it, which ends the job).
      const closed = await settlesWithin(jobs.close(), STOP_GRACE_MS);
      await settlesWithin(finished(), STOP_GRACE_MS);
      if (redis.status === 'ready' && holding) await settlesWithin(withdrawNode(redis, node), 2_000);
      if (redis.status === 'ready') await settlesWithin(lease.release(), 2_000);
      for (const connection of [subscriber, bullConnection, redis]) connection.disconnect();
      await pool?.close();
      if (!closed) {
        log.warn('stopped without reporting back: Redis is unreachable', { runId: currentRun });
        await settlesWithin(jobs.close(), 2_000);
      }
    },
  };
}
