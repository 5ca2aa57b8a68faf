// The per-node BullMQ queues as the API process sees them: counts for
// /metrics, a waiting job's place in line, and taking a waiting job back when
// its run is cancelled. Queues open lazily, one per node asked about.
import { Job, Queue, QueueKeys } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { nodeQueue, RUNS_QUEUE } from '../redis/keys.js';
import { nodeJobId } from './run-flow.js';
import { sharedInFlight, sharedInFlightByKey } from '../util/in-flight.js';

/** A job further back than this in its queue shows no position (not scanned for on each request). */
const POSITION_SCAN_LIMIT = 1000;

export class NodeQueues {
  private readonly queues = new Map<string, Queue>();
  private runs: Queue | undefined;

  constructor(private readonly connection: RedisClient) {}

  /** BullMQ's key names (its default prefix), so a count needs no Queue object per node. */
  private readonly bullKeys = new QueueKeys();

  // Every submission checks these: concurrent ones share a read in flight. A waiting node job is
  // in its queue's "wait" list (Sherlock sets no priorities or delays): one LLEN, where opening a
  // BullMQ Queue per node to ask made a first run to 1,000 nodes take seconds to accept.
  private readonly waitingOf = sharedInFlightByKey((node: string) => this.connection.llen(this.bullKeys.toKey(nodeQueue(node), 'wait')));
  private readonly readUnfinished = sharedInFlight(() => {
    if (!this.runs) {
      this.runs = new Queue(RUNS_QUEUE, { connection: this.connection });
      this.runs.on('error', () => {});
    }
    return this.runs.getWaitingChildrenCount();
  });

  private queueOf(node: string): Queue {
    let queue = this.queues.get(node);
    if (!queue) {
      this.queues.set(node, (queue = new Queue(nodeQueue(node), { connection: this.connection })));
      queue.on('error', () => {}); // the shared connection reports outages (connectRedis); else BullMQ console.errors each
    }
    return queue;
  }

  /** Node jobs waiting (not yet started) in each node's queue. */
  async waitingCounts(nodes: string[]): Promise<Map<string, number>> {
    const waiting = await Promise.all(nodes.map((n) => this.waitingOf(n)));
    return new Map(nodes.map((n, i) => [n, waiting[i]!]));
  }

  /** Runs not yet finished: their finalize jobs still wait for node jobs. */
  unfinishedRuns(): Promise<number> {
    return this.readUnfinished();
  }

  counts(node: string): Promise<Record<string, number>> {
    return this.queueOf(node).getJobCounts('waiting', 'active', 'failed');
  }

  /** When the node job waiting longest in `node`'s queue was added (ms), if any waits. */
  async oldestWaitingAt(node: string): Promise<number | undefined> {
    // getWaiting lists oldest first: index 0 is the next job to run.
    const [oldest] = await this.queueOf(node).getWaiting(0, 0);
    return oldest?.timestamp;
  }

  /** Removes a node job still waiting in its queue; false if it already started or is gone. */
  async removeWaiting(runId: string, node: string): Promise<boolean> {
    const job = await Job.fromId(this.queueOf(node), nodeJobId(runId, node));
    if (!job || !(await job.isWaiting())) return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false; // picked up meanwhile: the worker sees the cancel
    }
  }

  /**
   * 1-based position of a waiting node job in its queue, if it is waiting. BullMQ pushes jobs at the
   * wait list's head and takes them from its tail: LPOS from the tail within the next
   * POSITION_SCAN_LIMIT, one pipelined round trip with no Queue object or job read (a run page
   * polled during a 1,000-node start opened 1,000 Queues and read every waiting job each time).
   */
  async position(runId: string, node: string): Promise<number | undefined> {
    const wait = this.bullKeys.toKey(nodeQueue(node), 'wait');
    const replies = await this.connection.pipeline().llen(wait).lpos(wait, nodeJobId(runId, node), 'RANK', -1, 'MAXLEN', POSITION_SCAN_LIMIT).exec();
    const [length, index] = (replies ?? []).map(([err, value]) => (err ? undefined : value)) as [number | undefined, number | null | undefined];
    if (length === undefined || index === null || index === undefined) return undefined;
    return length - index;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values(), ...(this.runs ? [this.runs] : [])].map((q) => q.close()));
  }
}
