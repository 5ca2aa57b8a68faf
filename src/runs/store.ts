// Run records in Redis: one hash per run (per-node fields, so nodes update
// their own state without read-modify-write races), an index by time, and a
// progress stream per run. Every key of a run expires with the retention.
import type { RedisClient } from '../redis/connection.js';
import { keys } from '../redis/keys.js';
import * as scripts from './scripts.js';
import { evalScript } from '../redis/scripts.js';
import type { Finding } from '../model/findings.js';
import { readBaselineComparison, readFindings, settleFindings } from './findings.js';
import type { BaselineComparison } from '../model/baseline.js';
import { isBaselineRun, recordBaseline } from '../baselines/store.js';
import type { BaselineMetric } from '../model/findings.js';
import { addShared } from '../redis/shared-metrics.js';
import { FINAL_NODE_STATUSES, FINAL_STATUSES, type NodeState, type NodeStatus, type RunPlan, type RunRecord, type RunStatus } from '../model/run.js';

const NODE_FIELD = 'node:';
const EVENTS_MAX = 1000;
/** Live batches kept per run: enough to follow a run, bounded whatever its size (the stored results keep every event). */
const LIVE_MAX = 2000;
/** Live events are for watching: gone an hour after the last one (or with the run, if sooner). */
const LIVE_TTL_SECONDS = 3600;

export interface RunStoreOptions {
  retentionSeconds: number;
}

/** Where a page of the run list ended: createdAt (ms) and id of its last run. */
export interface RunCursor {
  ms: number;
  id?: string;
}

export interface NodeTransitionResult {
  /** Whether this call moved the node (and emitted its event). */
  moved: boolean;
  /** The status it moved from, or the one that refused the move. */
  status: NodeStatus | 'missing';
}

export interface NewRun {
  id: string;
  plan: RunPlan;
  requestedBy: string;
  now: Date;
  /** The run's first event (run-queued), stored with the record. */
  firstEvent?: RunEvent;
}

export interface RunEvent {
  type: string;
  [field: string]: unknown;
}

export class RunStore {
  constructor(
    readonly redis: RedisClient,
    readonly options: RunStoreOptions,
  ) {}

  /** Stores a new run record; `firstEvent` (run-queued) goes into its event stream in the same transaction. */
  async create(id: string, plan: RunPlan, requestedBy: string, now = new Date(), firstEvent?: RunEvent): Promise<RunRecord> {
    const [record] = await this.createMany([{ id, plan, requestedBy, now, ...(firstEvent ? { firstEvent } : {}) }]);
    return record!;
  }

  /** Stores several new run records in one transaction (one round trip however many runs arrived together). */
  async createMany(runs: NewRun[]): Promise<RunRecord[]> {
    const tx = this.redis.multi();
    const records = runs.map((run) => {
      const { record, fields, firstEvent } = newRunWrites(run);
      tx.hset(keys.run(run.id), fields).expire(keys.run(run.id), this.options.retentionSeconds).zadd(keys.runsByTime, run.now.getTime(), run.id);
      if (firstEvent) {
        const events = keys.runEvents(run.id);
        tx.xadd(events, 'MAXLEN', '~', EVENTS_MAX, '*', 'event', firstEvent).expire(events, this.options.retentionSeconds);
      }
      return record;
    });
    const replies = await tx.exec();
    // A MULTI whose commands were refused at queueing aborts as a whole (exec throws); one failing at run time is reported here.
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error('run records not stored: the transaction was discarded');
    return records;
  }

  /**
   * A new run as arguments of the Lua function storeNewRun (scripts.ts), for callers that
   * write it inside a larger script (queue/flow-batch.ts); same writes as createMany.
   */
  newRunArgs(run: NewRun): { record: RunRecord; args: string[] } {
    const { record, fields, firstEvent } = newRunWrites(run);
    const args = [
      keys.run(run.id),
      keys.runEvents(run.id),
      run.id,
      String(run.now.getTime()),
      firstEvent ?? '',
      String(this.options.retentionSeconds),
      String(EVENTS_MAX),
      '',
    ];
    // Field names and values pushed in place (Object.entries(...).flat() was most of this function's time).
    for (const name in fields) args.push(name, fields[name]!);
    args[7] = String(args.length - 8);
    return { record, args };
  }

  /** Removes runs whose node jobs were never queued: a record no worker will ever move would stay "queued". */
  async forget(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.redis
      .multi()
      .del(...ids.flatMap((id) => [keys.run(id), keys.runEvents(id)]))
      .zrem(keys.runsByTime, ...ids)
      .exec();
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const hash = await this.redis.hgetall(keys.run(id));
    return hash.id ? parseRecord(hash) : undefined;
  }

  /**
   * The record without its nodes' states (`nodes` is empty) nor the plan's node list
   * (`plan.nodes` is empty): what a node's worker needs (the plan). Every worker of a
   * 1,000-node run reading all of them would cost Redis and the workers O(nodes²).
   */
  async getPlanned(id: string): Promise<RunRecord | undefined> {
    const values = await this.redis.hmget(keys.run(id), ...RECORD_FIELDS);
    const hash: Record<string, string> = {};
    RECORD_FIELDS.forEach((field, i) => {
      if (values[i] !== null && values[i] !== undefined) hash[field] = values[i]!;
    });
    return hash.id ? parseRecord(hash) : undefined;
  }

  /**
   * Newest first. `before` is the cursor of the last page: its last run's
   * createdAt (ms) and id. Each batch starts just after the last run looked at
   * (by its rank), so runs created in the same millisecond are neither skipped
   * nor repeated; by time alone if that run has left the index.
   */
  async list(filter: { limit: number; before?: RunCursor; status?: RunStatus; node?: string; runbook?: string }) {
    const runs: RunRecord[] = [];
    let anchor = filter.before;
    // Filtered lists scan in batches; the index is by time only.
    for (let scanned = 0; runs.length < filter.limit && scanned < 10_000; ) {
      const start = await this.rankAfter(anchor);
      const ids = await this.redis.zrevrange(keys.runsByTime, start, start + 199, 'WITHSCORES');
      if (!ids.length) break;
      const expired: string[] = [];
      for (let i = 0; i < ids.length && runs.length < filter.limit; i += 2) {
        const id = ids[i]!;
        const run = await this.get(id);
        if (!run) {
          expired.push(id); // expired record: drop its index entry
          continue;
        }
        anchor = { ms: Number(ids[i + 1]), id };
        if (filter.status && run.status !== filter.status) continue;
        if (filter.node && !Object.hasOwn(run.nodes, filter.node)) continue;
        if (filter.runbook && run.plan.runbook !== filter.runbook) continue;
        runs.push(run);
      }
      if (expired.length) await this.redis.zrem(keys.runsByTime, ...expired);
      scanned += ids.length / 2;
    }
    const last = runs.at(-1);
    return { runs, next: runs.length === filter.limit && last ? `${Date.parse(last.createdAt)}:${last.id}` : undefined };
  }

  /** Rank (newest first) of the first run after the cursor. */
  private async rankAfter(cursor: RunCursor | undefined): Promise<number> {
    if (!cursor) return 0;
    const rank = cursor.id ? await this.redis.zrevrank(keys.runsByTime, cursor.id) : null;
    return rank !== null ? rank + 1 : this.redis.zcount(keys.runsByTime, cursor.ms, '+inf');
  }

  /**
   * Moves a node from one of `from` to `state` and emits `event` with it, in
   * one compare-and-set (scripts.nodeTransition): a node in a final status never
   * moves again, so a late worker cannot overwrite the reaper's verdict.
   */
  async transitionNode(id: string, node: string, state: NodeState, from: readonly NodeStatus[], event?: RunEvent): Promise<NodeTransitionResult> {
    return (await this.transition(id, node, state, from, event, false)) as NodeTransitionResult;
  }

  /** transitionNode; `unlessRequested`: refused ('requested') while the run has a cancel or a stop requested. */
  private async transition(
    id: string,
    node: string,
    state: NodeState,
    from: readonly NodeStatus[],
    event: RunEvent | undefined,
    unlessRequested: boolean,
  ): Promise<NodeTransitionResult | { moved: false; status: 'requested' }> {
    const now = new Date().toISOString();
    // By SHA1: a 1,000-node run's starts and finishes do not each send and hash the script's body.
    const [moved, status] = (await evalScript(
      this.redis,
      scripts.nodeTransition,
      [keys.run(id), keys.runEvents(id)],
      [
        node,
        JSON.stringify(state),
        from.join(','),
        event ? JSON.stringify({ ...event, time: now }) : '',
        EVENTS_MAX,
        this.options.retentionSeconds,
        state.startedAt ?? now,
        unlessRequested ? '1' : '',
      ],
    )) as [number, string];
    if (status === 'requested') return { moved: false, status };
    return { moved: moved === 1, status: status as NodeStatus | 'missing' };
  }

  /**
   * queued → running, emitting node-started; refused if the node was cancelled or reaped meanwhile.
   * A run with a cancel or a stop requested cancels the node instead (queued → cancelled): the check
   * is in the same script, so taking a node job costs a worker one round trip, not two.
   */
  async startNode(id: string, node: string, state: NodeState, event: Omit<RunEvent, 'type'> = {}): Promise<NodeTransitionResult> {
    const started = await this.transition(id, node, state, ['queued'], { ...event, type: 'node-started', node }, true);
    if (started.status !== 'requested') return started;
    const cancelled = await this.cancelQueuedNode(id, node);
    return { moved: false, status: cancelled.moved ? 'cancelled' : cancelled.status };
  }

  /** running → a final status, emitting node-finished once. */
  finishNode(id: string, node: string, state: NodeState, event: Omit<RunEvent, 'type'> = {}): Promise<NodeTransitionResult> {
    return this.transitionNode(id, node, state, ['running'], { ...event, type: 'node-finished', node, status: state.status });
  }

  /** queued → cancelled (a job taken back before a worker started it). */
  cancelQueuedNode(id: string, node: string): Promise<NodeTransitionResult> {
    const state: NodeState = { status: 'cancelled', finishedAt: new Date().toISOString() };
    return this.transitionNode(id, node, state, ['queued'], { type: 'node-finished', node, status: 'cancelled' });
  }

  /** Any unfinished node → `state` (records made by tools and tests); final nodes stay as they are. */
  setNodeState(id: string, node: string, state: NodeState): Promise<NodeTransitionResult> {
    const event: RunEvent = FINAL_NODE_STATUSES.has(state.status) ? { type: 'node-finished', node, status: state.status } : { type: 'node-started', node };
    return this.transitionNode(id, node, state, state.status === 'running' ? ['queued'] : ['queued', 'running'], event);
  }

  /** The latest time by which a started node must have finished; the reaper checks it. */
  async extendDeadline(id: string, deadlineMs: number): Promise<void> {
    await this.redis.zadd(keys.runDeadlines, 'GT', deadlineMs, id);
  }

  /** Runs whose deadline has passed. */
  async overdue(now = Date.now()): Promise<string[]> {
    return this.redis.zrangebyscore(keys.runDeadlines, '-inf', now, 'LIMIT', 0, 100);
  }

  async clearDeadline(id: string): Promise<void> {
    await this.redis.zrem(keys.runDeadlines, id);
  }

  /** Marks the run cancelled-in-progress: workers stop, finalize settles the status. */
  async requestCancel(id: string): Promise<void> {
    await this.redis.hset(keys.run(id), 'cancelRequested', '1');
  }

  /** Marks the run stopping: its nodes end their window now and keep what they captured; the run completes. */
  async requestStop(id: string): Promise<void> {
    await this.redis.hset(keys.run(id), 'stopRequested', '1');
  }

  /**
   * Settles the run's status once every node is final; idempotent, so the finalize job and the reaper may race.
   * The findings are stored first, so a run that reads as final has them (GET /v1/runs/:id/findings).
   */
  async finalizeIfDone(id: string): Promise<RunRecord | undefined> {
    const before = await this.get(id);
    let metrics: Map<string, BaselineMetric[]> | undefined;
    if (before && !FINAL_STATUSES.has(before.status) && Object.values(before.nodes).every((n) => FINAL_NODE_STATUSES.has(n.status))) {
      metrics = await settleFindings(this.redis, before, this.options.retentionSeconds);
    }
    // Only a call that saw every node final, and stored the findings, may settle the run: one that saw a node
    // still going would otherwise settle it without them when that node finished in between (a cancel racing
    // the finalize job); the call that made the last node final finalizes after it.
    const status = metrics
      ? ((await evalScript(
          this.redis,
          scripts.finalizeRun,
          [keys.run(id), keys.runEvents(id)],
          [new Date().toISOString(), this.options.retentionSeconds, EVENTS_MAX],
        )) as RunStatus | null)
      : null;
    // Only the call that settled the run gets a status back: counted once.
    if (status) await this.redis.zrem(keys.runDeadlines, id);
    const after = await this.get(id);
    if (status) await addShared(this.redis, [{ name: 'sherlock_runs_total', labels: { runbook: (after ?? before)?.plan.runbook ?? 'ad-hoc', status } }]);
    // Only the call that settled the run records it (metrics come from its analysis).
    if (status === 'completed' && after && metrics && isBaselineRun(after)) await recordBaseline(this.redis, after, metrics);
    return after;
  }

  /** The run's findings once it is final; undefined before (or after they expired). */
  async getFindings(id: string): Promise<Finding[] | undefined> {
    return readFindings(this.redis, id);
  }

  /** The run's comparison with its nodes' baselines once it is final. */
  async getBaselineComparison(id: string): Promise<BaselineComparison | undefined> {
    return readBaselineComparison(this.redis, id);
  }

  async appendEvent(id: string, event: RunEvent): Promise<void> {
    const entry = JSON.stringify({ ...event, time: new Date().toISOString() });
    await evalScript(this.redis, scripts.appendCapped, [keys.runEvents(id)], [EVENTS_MAX, this.options.retentionSeconds, 'event', entry]);
  }

  /** A batch of a streaming capture's events as they arrive, for GET /v1/runs/:id/live. */
  async appendLive(id: string, batch: RunEvent): Promise<void> {
    const ttl = Math.min(LIVE_TTL_SECONDS, this.options.retentionSeconds);
    await evalScript(this.redis, scripts.appendCapped, [keys.runLive(id)], [LIVE_MAX, ttl, 'event', JSON.stringify(batch)]);
  }
}

/** A new run's record, its hash fields and its first event (JSON) as every writer of new runs stores them. */
function newRunWrites({ id, plan, requestedBy, now, firstEvent }: NewRun): { record: RunRecord; fields: Record<string, string>; firstEvent?: string } {
  const record: RunRecord = {
    id,
    status: 'queued',
    createdAt: now.toISOString(),
    requestedBy,
    plan,
    nodes: Object.fromEntries(plan.nodes.map((n) => [n, { status: 'queued' }])),
  };
  // The node list apart from the plan: every node's worker reads the plan (getPlanned), none needs the list.
  const { nodes, ...rest } = plan;
  const fields: Record<string, string> = {
    id,
    status: record.status,
    createdAt: record.createdAt,
    requestedBy,
    plan: JSON.stringify(rest),
    [PLAN_NODES_FIELD]: JSON.stringify(nodes),
  };
  for (const [node, state] of Object.entries(record.nodes)) fields[NODE_FIELD + node] = JSON.stringify(state);
  return { record, fields, ...(firstEvent ? { firstEvent: JSON.stringify({ ...firstEvent, time: record.createdAt }) } : {}) };
}

/** The record's own fields (parseRecord), besides one `node:<name>` field per node and the plan's nodes. */
const RECORD_FIELDS = ['id', 'status', 'createdAt', 'startedAt', 'finishedAt', 'requestedBy', 'plan'] as const;
/** plan.nodes, stored apart (records stored before it have them inside `plan`). */
const PLAN_NODES_FIELD = 'planNodes';

function parseRecord(hash: Record<string, string>): RunRecord {
  const nodes: Record<string, NodeState> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(NODE_FIELD)) nodes[field.slice(NODE_FIELD.length)] = JSON.parse(value) as NodeState;
  }
  return {
    id: hash.id!,
    status: hash.status as RunStatus,
    createdAt: hash.createdAt!,
    ...(hash.startedAt ? { startedAt: hash.startedAt } : {}),
    ...(hash.finishedAt ? { finishedAt: hash.finishedAt } : {}),
    requestedBy: hash.requestedBy!,
    plan: {
      nodes: [],
      ...(JSON.parse(hash.plan!) as Partial<RunPlan>),
      ...(hash[PLAN_NODES_FIELD] ? { nodes: JSON.parse(hash[PLAN_NODES_FIELD]) as string[] } : {}),
    } as RunPlan,
    nodes,
  };
}
