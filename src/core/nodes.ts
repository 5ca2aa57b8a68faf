// The live nodes and the figures /metrics shows: run outcomes and capture
// time shared through Redis (every replica agrees), and each node's queue.
import type { RedisClient } from '../redis/connection.js';
import { knownNodes, liveNodes, type NodeInfo } from '../nodes/registry.js';
import type { NodeQueues } from '../queue/node-queues.js';
import { readShared, type SharedSample } from '../redis/shared-metrics.js';

export interface NodeServiceOptions {
  redis: RedisClient;
  queues: Pick<NodeQueues, 'counts' | 'oldestWaitingAt'>;
}

export type NodeService = ReturnType<typeof createNodeService>;

export function createNodeService({ redis, queues }: NodeServiceOptions) {
  return {
    live: (): Promise<NodeInfo[]> => liveNodes(redis),
    /** Live nodes and those gone silent whose last heartbeat is still kept (`live: false`). */
    known: () => knownNodes(redis),
    /** Jobs in a node's queue by state (waiting, active, failed). */
    queueCounts: (node: string) => queues.counts(node),
    /** When the node job waiting longest in a node's queue was added (ms), if any waits. */
    oldestWaitingAt: (node: string) => queues.oldestWaitingAt(node),
    /** The counters every process shares (runs, captures, deliveries: src/redis/shared-metrics.ts). */
    sharedCounters: (): Promise<SharedSample[]> => readShared(redis),
  };
}
