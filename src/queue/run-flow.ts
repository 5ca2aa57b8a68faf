// A run as a BullMQ flow: the parent "finalize" job on sherlock-runs waits for
// one "capture" child per node on that node's queue. A failed child does not
// fail the parent (the run becomes partial), and finished jobs are trimmed so
// Redis stays bounded; results live in the run record and artifacts instead.
//
// Runs submitted in one turn of the event loop go together in one batch, and
// while two batches are in Redis the next waits and grows: their records and
// flows in one script call (flow-batch.ts), and
// each caller still gets its own record, or its own error if its flow was
// refused (its record is then removed in the same call).
import { randomUUID } from 'node:crypto';
import type { FlowJob } from 'bullmq';
import { RUNS_QUEUE, nodeQueue } from '../redis/keys.js';
import { nodeJobId } from './job-ids.js';
import { packRun, RunFlowWriter, type QueueCaps } from './flow-batch.js';
import type { RedisClient } from '../redis/connection.js';
import type { RunStore } from '../runs/store.js';
import type { NodeJobData, RunPlan, RunRecord } from '../model/run.js';

const KEEP_FINISHED = { age: 24 * 3600, count: 1000 };
/** Node jobs written in one batch at most: a MULTI holds Redis for its whole length (a 1,000-node run is one batch alone). */
const MAX_BATCH_NODE_JOBS = 2000;
/**
 * Batches sent and not yet answered, at most: with one, the API and Redis took turns (each idle while
 * the other worked on a batch); two kept 64 clients at 3.4k runs/s against 2.0-2.6k (4 alternating rounds).
 */
const MAX_IN_FLIGHT = 2;

export { nodeJobId } from './job-ids.js';

/** What is written in the same script call as its run, all or nothing. */
export interface WithRun {
  /** A stream entry (the audit log's run.create), its fields given the new run's id. */
  entry?: { stream: string; fields(runId: string): string[] };
  /** A counter to add 1 to: a hash field (src/redis/shared-metrics.ts' seriesLocation). */
  counter?: { key: string; field: string };
  /** Queue caps checked in the same call: over one, the run is refused with OverQueueCap and nothing is written. */
  caps?: QueueCaps;
}

interface PendingRun {
  /** Its node jobs (a batch's size is bounded by them). */
  jobs: number;
  /** What it stores, and what the batch script reads for it (packed when it arrives). */
  record: RunRecord;
  packed: Buffer;
  resolve(record: RunRecord): void;
  reject(err: unknown): void;
}

export class RunSubmitter {
  private readonly flows: RunFlowWriter;
  private pending: PendingRun[] = [];
  private flushQueued = false;
  private inFlight = 0;

  constructor(
    connection: RedisClient,
    private readonly store: RunStore,
    /** false: each run written on its own at once, as before batching (benchmarks compare the two). */
    private readonly batching = true,
  ) {
    this.flows = new RunFlowWriter(connection);
  }

  /** Stores the run, queues its node jobs and writes `also`; resolves once all are in Redis. */
  submit(plan: RunPlan, requestedBy: string, also?: WithRun): Promise<RunRecord> {
    return new Promise<RunRecord>((resolve, reject) => {
      // Packed now, while an earlier batch may be in Redis: a batch's write then waits on Redis alone.
      const { record, packed } = this.pack(randomUUID(), plan, requestedBy, also);
      const run = { jobs: plan.nodes.length, record, packed, resolve, reject };
      if (!this.batching) return void this.write([run]);
      this.pending.push(run);
      this.queueFlush();
    });
  }

  /** Requests parsed in this turn of the event loop join the same batch. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /**
   * Sends what waits as batches, up to MAX_IN_FLIGHT at once on the one connection (Redis runs them
   * in order): while Redis runs one, the API parses and packs the next, and neither waits on the other.
   */
  private flush(): void {
    while (this.pending.length && this.inFlight < MAX_IN_FLIGHT) {
      let jobs = 0;
      let n = 0;
      while (n < this.pending.length && (n === 0 || jobs + this.pending[n]!.jobs <= MAX_BATCH_NODE_JOBS)) jobs += this.pending[n++]!.jobs;
      this.inFlight++;
      void this.write(this.pending.splice(0, n)).finally(() => {
        this.inFlight--;
        if (this.pending.length) this.queueFlush();
      });
    }
  }

  private pack(id: string, plan: RunPlan, requestedBy: string, also: WithRun | undefined): { record: RunRecord; packed: Buffer } {
    const now = new Date();
    // run-queued goes into the stream with the record, before any node job exists, so it is always the first event.
    const { record, args } = this.store.newRunArgs({ id, plan, requestedBy, now, firstEvent: { type: 'run-queued', nodes: plan.nodes } });
    const packed = packRun(
      {
        recordArgs: args,
        flow: runFlow(id, plan),
        ...(also?.entry ? { entry: { stream: also.entry.stream, fields: also.entry.fields(id) } } : {}),
        ...(also?.counter ? { counter: also.counter } : {}),
        ...(also?.caps ? { caps: also.caps } : {}),
      },
      now.getTime(),
    );
    return { record, packed };
  }

  private async write(batch: PendingRun[]): Promise<void> {
    let refused: Map<number, Error>;
    try {
      refused = await this.flows.addPacked(batch.map((run) => run.packed));
    } catch (err) {
      // Not one run of the batch is known to be stored: each caller hears so (a script that failed
      // half way may have left records behind; their runs were never answered 202).
      for (const run of batch) run.reject(err);
      return;
    }
    batch.forEach((run, i) => {
      const err = refused.get(i);
      if (err) run.reject(err);
      else run.resolve(run.record);
    });
  }

  close(): Promise<void> {
    return this.flows.close();
  }
}

/** A run's BullMQ flow: its finalize job on the runs queue, parent of one capture job per node. */
export function runFlow(id: string, plan: RunPlan): FlowJob {
  return {
    name: 'finalize',
    queueName: RUNS_QUEUE,
    data: { runId: id },
    opts: { jobId: id, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
    children: plan.nodes.map((node) => ({
      name: 'capture',
      queueName: nodeQueue(node),
      data: {
        runId: id,
        node,
        steps: plan.steps,
        durationMs: plan.durationMs,
        target: plan.target,
        ...(plan.cpuBudgetPercent !== undefined ? { cpuBudgetPercent: plan.cpuBudgetPercent } : {}),
      } satisfies NodeJobData,
      opts: {
        jobId: nodeJobId(id, node),
        attempts: 1,
        ignoreDependencyOnFailure: true,
        removeOnComplete: KEEP_FINISHED,
        removeOnFail: KEEP_FINISHED,
      },
    })),
  };
}
