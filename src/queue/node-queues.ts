// The per-node BullMQ queues as the API process sees them: counts for
// /metrics, a waiting job's place in line, and taking a waiting job back when
// its run is cancelled. Queues open lazily, one per node asked about.
import { Job, Queue, QueueKeys } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { nodeQueue } from '../redis/keys.js';
import { nodeJobId } from './run-flow.js';

/** A job further back than this in its queue shows no position (not scanned for on each request). */
const POSITION_SCAN_LIMIT = 1000;

export class NodeQueues {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly connection: RedisClient) {}

  /** BullMQ's key names (its default prefix), so a count needs no Queue object per node. */
  private readonly bullKeys = new QueueKeys();

  private queueOf(node: string): Queue {
    let queue = this.queues.get(node);
    if (!queue) {
      this.queues.set(node, (queue = new Queue(nodeQueue(node), { connection: this.connection })));
      queue.on('error', () => {}); // the shared connection reports outages (connectRedis); else BullMQ console.errors each
    }
    return queue;
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
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
