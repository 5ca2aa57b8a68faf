// Runs, whoever asks: the REST API, a chat command, an incident webhook, a
// schedule. One path to start (validated, planned on the live nodes, queued,
// audited), cancel, read and download, so every trigger behaves the same.
// Refusals are domain errors (src/model/errors.ts).
import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import { Conflict, invalidInput, NotFound, TooBusy } from '../model/errors.js';

import type { Finding } from '../model/findings.js';
import { FINAL_STATUSES, type RunPlan, type RunRecord } from '../model/run.js';
import { liveNodes, type NodeInfo } from '../nodes/registry.js';
import { planRun } from '../planner/plan.js';
import { runRequestSchema } from '../planner/run-request.js';
import type { NodeQueues } from '../queue/node-queues.js';
import type { RunSubmitter } from '../queue/run-flow.js';
import { OverQueueCap } from '../queue/flow-batch.js';
import { queueKeyPrefix } from '../queue/job-args.js';
import { keys, nodeQueue } from '../redis/keys.js';
import { seriesLocation } from '../redis/shared-metrics.js';
import type { RunbookSource } from '../runbooks/catalog.js';
import { artifactChunks, artifactMeta, type ArtifactMeta } from '../redis/artifacts.js';
import type { RunStore } from '../runs/store.js';
import { auditFields, type AuditLog } from './audit.js';
import { DEFAULT_LOAD_LIMITS, type LoadLimits } from '../config/load-limits.js';
import { sharedRecent } from '../util/in-flight.js';

/** What a refused start suggests waiting: about a short run's window. */
const RETRY_AFTER_SECONDS = 30;
/** How long one read of the live nodes serves new runs. */
const LIVE_NODES_REUSE_MS = 1000;

export interface RunStarter {
  /** Who asked, as the run and the audit log record it ("admin", "slack:U123 in #ops"). */
  actor: string;
  /** The alert, the chat channel, the schedule: kept in the run's plan (so its report links back) and the audit. */
  origin?: Record<string, unknown>;
}

export interface RunServiceOptions {
  redis: RedisClient;
  store: RunStore;
  submitter: RunSubmitter;
  audit: AuditLog;
  queues: Pick<NodeQueues, 'removeWaiting' | 'position'>;
  /** The runbooks this replica loaded (absent: runs name captures in steps only). */
  runbooks?: RunbookSource;
  /** The operator's load limits (config file `load`); absent: the defaults. */
  limits?: LoadLimits;
}

export type RunListFilter = Parameters<RunStore['list']>[0];

export const runLinks = (id: string) => ({
  self: `/v1/runs/${id}`,
  events: `/v1/runs/${id}/events`,
  live: `/v1/runs/${id}/live`,
  findings: `/v1/runs/${id}/findings`,
});

export type RunService = ReturnType<typeof createRunService>;

export function createRunService({ redis, store, submitter, audit, queues, runbooks, limits = DEFAULT_LOAD_LIMITS }: RunServiceOptions) {
  // Submissions plan on one read of the live nodes a second at most: liveness moves with heartbeats
  // (every 5 s), and a read per batch waited in Redis behind the batch before it.
  const liveNodesRead = sharedRecent(() => liveNodes(redis), LIVE_NODES_REUSE_MS);

  /** The plan on the live nodes; a node refused as not live is looked for again in a fresh read (it may have just started). */
  const planOnLive = async (plan: (live: NodeInfo[]) => RunPlan): Promise<RunPlan> => {
    try {
      return plan(await liveNodesRead.recent());
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
      return plan(await liveNodesRead.fresh());
    }
  };

  /** The run, or NotFound (ids are UUIDs: anything else is not looked up). */
  const get = async (id: string): Promise<RunRecord> => {
    const run = z.uuid().safeParse(id).success ? await store.get(id) : undefined;
    if (!run) throw new NotFound('run_not_found', `no run ${id} (it may have expired after the retention period)`);
    return run;
  };

  /** A run over a queue cap (config file `load`) as TooBusy (429): what is full, and the setting. */
  const tooBusy = (over: OverQueueCap, nodes: string[]): TooBusy => {
    if (over.cap === 'runs') {
      return new TooBusy(
        'too_many_runs',
        `${over.count} runs are queued or running, the most this server takes (load.maxQueuedRuns = ${limits.maxQueuedRuns}); try again when some have finished`,
        RETRY_AFTER_SECONDS,
        { unfinished: over.count, maxQueuedRuns: limits.maxQueuedRuns },
      );
    }
    const full = nodes.filter((node) => over.fullQueues.includes(queueKeyPrefix(nodeQueue(node))));
    return new TooBusy(
      'node_queue_full',
      `node ${full[0]}${full.length > 1 ? ` (and ${full.length - 1} more)` : ''} already has ${over.count} runs waiting, the most a node takes (load.maxQueuedRunsPerNode = ${limits.maxQueuedRunsPerNode}); try again later or target other nodes`,
      RETRY_AFTER_SECONDS,
      { nodes: full, maxQueuedRunsPerNode: limits.maxQueuedRunsPerNode },
    );
  };

  return {
    get,

    /** The run if it exists; undefined, not an error, for callers that answer in words (chat). */
    find: (id: string): Promise<RunRecord | undefined> => store.get(id),

    list: (filter: RunListFilter) => store.list(filter),

    /** Validates `body` as a run request, plans it on the live nodes, queues it and audits it (one write). */
    async start(body: unknown, starter: RunStarter): Promise<RunRecord> {
      const parsed = runRequestSchema.safeParse(body);
      if (!parsed.success) throw invalidInput(parsed.error);
      const plan = await planOnLive((live) => planRun(parsed.data, live, runbooks, limits));
      const details = {
        nodes: plan.nodes,
        steps: plan.steps.map((s) => s.capture),
        ...(plan.runbook ? { runbook: plan.runbook, params: plan.params } : {}),
        ...(starter.origin ? { origin: starter.origin } : {}),
      };
      // The queue caps are checked, and the audit entry and the run counter written, with the run in the same
      // script call: no accepted run goes unaudited, and runs submitted together cannot all pass one read of the caps.
      return submitter
        .submit(starter.origin ? { ...plan, origin: starter.origin } : plan, starter.actor, {
          entry: { stream: keys.audit, fields: (id) => auditFields({ actor: starter.actor, action: 'run.create', subject: id, details }) },
          counter: seriesLocation('sherlock_runs_started_total', { runbook: plan.runbook ?? 'ad-hoc' }),
          caps: limits,
        })
        .catch((err: unknown) => {
          throw err instanceof OverQueueCap ? tooBusy(err, plan.nodes) : err;
        });
    },

    /** The run with each still-queued node's place in its queue. */
    async withQueuePositions(id: string): Promise<RunRecord> {
      const run = await get(id);
      // A run on 1,000 nodes asks 1,000 queues: in parallel batches, not one round trip after another.
      const queued = Object.entries(run.nodes).filter(([, state]) => state.status === 'queued');
      for (let i = 0; i < queued.length; i += 100) {
        const batch = queued.slice(i, i + 100);
        const positions = await Promise.all(batch.map(([node]) => queues.position(run.id, node)));
        batch.forEach(([, state], j) => {
          if (positions[j] !== undefined) Object.assign(state, { position: positions[j] });
        });
      }
      return run;
    },

    /**
     * Asks every node of `run` to stop (captured data is kept), takes back node
     * jobs still waiting, audits. Conflict if the run already ended.
     */
    async cancel(run: RunRecord, by: { actor: string; details?: Record<string, unknown> }): Promise<RunRecord> {
      if (FINAL_STATUSES.has(run.status)) throw new Conflict('run_finished', `run ${run.id} already ended (${run.status})`);
      await store.requestCancel(run.id);
      await redis.publish(keys.cancelChannel, run.id);
      for (const [node, state] of Object.entries(run.nodes)) {
        if (state.status === 'queued' && (await queues.removeWaiting(run.id, node))) {
          await store.cancelQueuedNode(run.id, node);
        }
      }
      await audit.record({ actor: by.actor, action: 'run.cancel', subject: run.id, ...(by.details ? { details: by.details } : {}) });
      return (await store.finalizeIfDone(run.id)) ?? run;
    },

    /**
     * Ends the run's window now on every node: each keeps what it captured and
     * completes, and the run is analyzed as usual (an open window, `untilStopped`,
     * ends this way). Nodes still waiting in their queue are taken back.
     */
    async stop(run: RunRecord, by: { actor: string }): Promise<RunRecord> {
      if (FINAL_STATUSES.has(run.status)) throw new Conflict('run_finished', `run ${run.id} already ended (${run.status})`);
      await store.requestStop(run.id);
      await redis.publish(keys.cancelChannel, `stop:${run.id}`);
      for (const [node, state] of Object.entries(run.nodes)) {
        if (state.status === 'queued' && (await queues.removeWaiting(run.id, node))) {
          await store.cancelQueuedNode(run.id, node);
        }
      }
      await audit.record({ actor: by.actor, action: 'run.stop', subject: run.id });
      return (await store.finalizeIfDone(run.id)) ?? run;
    },

    /** The findings stored when the run ended, if any (no error: chat reports their absence). */
    storedFindings: (id: string): Promise<Finding[] | undefined> => store.getFindings(id),

    /** A finished run's ranked findings with counts by severity. */
    async findings(id: string) {
      const run = await get(id);
      if (!FINAL_STATUSES.has(run.status)) {
        throw new NotFound('findings_not_ready', `run ${run.id} is ${run.status}; its findings are computed when it ends (follow ${runLinks(run.id).events})`, {
          status: run.status,
        });
      }
      const findings = await store.getFindings(run.id);
      if (!findings) throw new NotFound('findings_not_found', `run ${run.id} has no stored findings (it ended before analysis existed, or they expired)`);
      const counts = { critical: 0, warning: 0, info: 0 };
      for (const f of findings) if (f.severity in counts) counts[f.severity]++;
      return { run, findings, counts };
    },

    /** A finished run's numbers beside its nodes' latest scheduled baselines. */
    async baseline(id: string) {
      const run = await store.get(id);
      if (!run) throw new NotFound('run_not_found', `no run ${id} (unknown, or expired)`);
      if (!FINAL_STATUSES.has(run.status))
        throw new NotFound('baseline_not_ready', `run ${id} is ${run.status}; its comparison with the baseline is computed once it ends`);
      const comparison = await store.getBaselineComparison(run.id);
      if (!comparison)
        throw new NotFound('baseline_not_found', `run ${id} has no stored comparison with a baseline (it expired, or the run's analysis failed)`);
      return { run, comparison };
    },

    /** The run if it ended: reports are for ended runs (a running one's results are still coming). */
    async finished(id: string): Promise<RunRecord> {
      const run = await get(id);
      if (!FINAL_STATUSES.has(run.status)) {
        throw new Conflict('run_not_finished', `run ${run.id} is ${run.status}: its report is ready when it ends (follow /v1/runs/${run.id}/events)`);
      }
      return run;
    },

    /** A stored capture result as gzip chunks, audited as a download by `actor`. */
    async artifact(id: string, node: string, name: string, actor: string): Promise<{ meta: ArtifactMeta; chunks: AsyncGenerator<Buffer> }> {
      const run = await get(id);
      if (!Object.hasOwn(run.nodes, node))
        throw new NotFound('node_not_in_run', `run ${run.id} did not run on ${node}; nodes: ${Object.keys(run.nodes).join(', ')}`);
      const meta = await artifactMeta(redis, run.id, node, name);
      if (!meta) throw new NotFound('artifact_not_found', `no artifact ${name} for node ${node} (see the run's captures for names)`);
      await audit.record({ actor, action: 'artifact.download', subject: run.id, details: { node, name } });
      return { meta, chunks: artifactChunks(redis, run.id, node, meta) };
    },
  };
}
