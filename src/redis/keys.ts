// Every Redis key and queue name Sherlock uses, built in one place. All of
// them carry the hash tag {sherlock}: on a Redis Cluster they share one slot,
// so BullMQ's flow scripts (a run's parent job waits on children in every
// node's queue) and Sherlock's own transactions never cross slots.
export const HASH_TAG = '{sherlock}';
const PREFIX = HASH_TAG;

export const RUNS_QUEUE = `${HASH_TAG}-runs`;
export const SCHEDULES_QUEUE = `${HASH_TAG}-schedules`;
const NODE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Node names become queue names: BullMQ forbids ':'; we allow DNS-like names. */
export function isValidNodeName(name: string): boolean {
  return NODE_NAME.test(name);
}

export const NODE_NAME_RULE = 'lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters';

export function nodeQueue(node: string): string {
  if (!isValidNodeName(node)) throw new Error(`invalid node name "${node}": ${NODE_NAME_RULE}`);
  return `${HASH_TAG}-node-${node}`;
}

export const keys = {
  /** Hash: the run record (status, request, per-node state). */
  run: (runId: string) => `${PREFIX}:run:${runId}`,
  /** Stream: progress events of a run, read by SSE clients. */
  runEvents: (runId: string) => `${PREFIX}:run:${runId}:events`,
  /** Stream: a run's streaming-capture events as they arrive (capped; the stored results keep every event). */
  runLive: (runId: string) => `${PREFIX}:run:${runId}:live`,
  /** String (gzip): one stored artifact of a run. */
  artifact: (runId: string, node: string, name: string) => `${PREFIX}:run:${runId}:artifact:${node}:${name}`,
  /** Sorted set: run ids by creation time (ms), for listing newest first. */
  runsByTime: `${PREFIX}:runs`,
  /** Sorted set: unfinished run ids by deadline (ms), for the reaper. */
  runDeadlines: `${PREFIX}:runs:deadlines`,
  /** Hash: node name → heartbeat JSON. Sorted set: node name by last heartbeat (ms). */
  nodes: `${PREFIX}:nodes`,
  nodesSeen: `${PREFIX}:nodes:seen`,
  /** Stream (one entry): wakes one API process's shared run-event reader when it follows a new run. */
  eventsWake: (processId: string) => `${PREFIX}:events:wake:${processId}`,
  /** String (lease, src/redis/lease.ts): the API replica whose reaper runs now. */
  reaperLease: `${PREFIX}:lease:reaper`,
  /** String (lease): the API replica that trims the audit log now (src/core/audit-retention.ts). */
  auditTrimLease: `${PREFIX}:lease:audit-trim`,
  /** String (lease): the worker process that holds a node name. */
  nodeLease: (node: string) => `${PREFIX}:nodes:lease:${node}`,
  /** Hash: sha256(token) → token record JSON. */
  tokens: `${PREFIX}:tokens`,
  /** String (JSON, TTL = the session's life): a console session, by sha256 of its cookie. */
  consoleSession: (idHash: string) => `${PREFIX}:console-session:${idHash}`,
  /** Stream: the audit log, append-only. */
  audit: `${PREFIX}:audit`,
  /** Hash: counters for /metrics the API side keeps (runs, deliveries: src/redis/shared-metrics.ts). */
  metrics: `${PREFIX}:metrics`,
  /** Hash: counters for /metrics workers push (node jobs, captures); the only metrics key a worker may write. */
  workerMetrics: `${PREFIX}:worker-metrics`,
  /** List (newest first): JSON baselines of one node for one runbook and target (src/baselines). */
  baseline: (node: string, runbook: string, target: string) => `${PREFIX}:baseline:${node}:${runbook}:${target}`,
  /** Pub/sub channel: ids of revoked tokens; every API replica drops its token cache. */
  tokenRevocations: `${PREFIX}:tokens:revoked`,
  /** String (TTL): an incident-tool delivery already turned into a run, by tool and sha256 of its dedup key. */
  hookDelivery: (tool: string, keyHash: string) => `${PREFIX}:hooks:delivery:${tool}:${keyHash}`,
  /** String (TTL): a chat request signature already accepted (replay guard). */
  chatopsSeen: (signature: string) => `${PREFIX}:chatops:seen:${signature}`,
  /** Pub/sub channel: run ids to cancel, or `stop:<id>` to end a run's window early; every worker listens. */
  cancelChannel: `${PREFIX}:cancel`,
} as const;
