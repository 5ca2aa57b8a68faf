// A run as a BullMQ flow: the parent "finalize" job on sherlock-runs waits for
// one "capture" child per node on that node's queue. A failed child does not
// fail the parent (the run becomes partial), and finished jobs are trimmed so
// Redis stays bounded; results live in the run record and artifacts instead.
import { randomUUID } from 'node:crypto';
import { FlowProducer, type ConnectionOptions } from 'bullmq';
import { RUNS_QUEUE, nodeQueue } from '../redis/keys.js';
import type { RunStore } from '../runs/store.js';
import type { NodeJobData, RunPlan, RunRecord } from '../model/run.js';

const KEEP_FINISHED = { age: 24 * 3600, count: 1000 };

export const nodeJobId = (runId: string, node: string) => `${runId}.${node}`;

export class RunSubmitter {
  private readonly flows: FlowProducer;

  constructor(
    connection: ConnectionOptions,
    private readonly store: RunStore,
  ) {
    this.flows = new FlowProducer({ connection });
  }

  async submit(plan: RunPlan, requestedBy: string): Promise<RunRecord> {
    const id = randomUUID();
    // run-queued is in the stream before any node job exists, so it is always the first event.
    const record = await this.store.create(id, plan, requestedBy, new Date(), { type: 'run-queued', nodes: plan.nodes });
    await this.flows.add({
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
    });
    return record;
  }

  close(): Promise<void> {
    return this.flows.close();
  }
}
