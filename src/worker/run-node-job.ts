// One node's part of a run: every step's capture at once, in one shared time
// window, then each result stored as an artifact and summed up in the run
// record, and the node's share of the analysis stored beside them (while the
// results are still in memory, so finalize need not read them back).
// Cancellation (the job's AbortSignal) stops the window early and keeps what
// was captured.
import { setMaxListeners } from 'node:events';
import { release } from 'node:os';
import type { RedisClient } from '../redis/connection.js';
import type { CaptureDefinition, CaptureFile } from '../captures/capture.js';
import { resultJson } from '../captures/event-spool.js';
import { captures } from '../captures/registry.js';
import { NotSupportedError } from '../libbpf/index.js';
import { runCapture } from '../captures/run-capture.js';
import type { WarmPool } from '../captures/warm-pool.js';
import type { SecretPattern } from '../redact/index.js';
import { putArtifact } from '../redis/artifacts.js';
import type { StoredResult } from '../runs/node-analysis.js';
import type { RunStore } from '../runs/store.js';
import { STOP_REASON, type CaptureSummary, type NodeJobData, type NodeState, type RunRecord } from '../model/run.js';
import { createLogger } from '../util/logger.js';
import { DEFAULT_CPU_BUDGET_PERCENT, DEFAULT_WORKER_EVENT_SPOOL_MIB } from '../model/limits.js';
import { analyzeOwnResults } from './analyze-own-results.js';
import { startFalcoSession, type FalcoStart } from './falco-rules.js';
import type { FalcoAlert } from '../falco/matcher.js';
import { livePublisher } from './live-publisher.js';
import type { OwnCgroup } from './own-cgroup.js';
import { startCostMeter } from './sherlock-cost.js';
import { createRunSpool } from './run-spool.js';
import { keepDeadline, type DeadlineKeeper } from './deadline-keeper.js';
import { Semaphore } from '../util/semaphore.js';

const log = createLogger({ component: 'worker' });

export interface NodeJobContext {
  redis: RedisClient;
  store: RunStore;
  retentionSeconds: number;
  signal?: AbortSignal;
  /** The operator's secret patterns (config `redaction.patterns`), besides the built-in ones. */
  redaction?: readonly SecretPattern[];
  /** Sherlock's own cgroup: left out of host-wide captures, its CPU reported as the node's `sherlock` cost. */
  own?: OwnCgroup;
  /** Operator Falco rule files and directories (SHERLOCK_FALCO_RULES). */
  falcoRules?: string[];
  /** The worker's loaded objects: a step with their settings only attaches. */
  pool?: WarmPool;
  /** What the job's event captures may spool to disk together (NDJSON bytes), shared equally (load.workerEventSpoolMiB). */
  eventSpoolBytes?: number;
  /** Where the job's spool directory is made (the OS temp dir by default). */
  spoolRoot?: string;
  /**
   * Given: work that may finish after the node has reported is handed here: the captures' probe
   * detaches (runCapture's detachLater) and the spool's removal. Without it, the job waits for both.
   */
  afterReport?(work: Promise<void>): void;
  /** Called once the node has moved to running (the worker's busy heartbeat). */
  onStarted?(): void;
}

/**
 * Results stored at once: each streams its spool through gzip into Redis with a
 * few MiB in flight, so a run of many steps ending together stays bounded.
 */
export const STORES_AT_ONCE = 2;

/** Past the capture window, how long a node may go without progress before it counts as lost. */
export const RUN_GRACE_MS = 10_000;
/** While a job works (a big run's storing and analysis take a while), its deadline moves on, up to this long past its window. */
export const MAX_AFTER_WINDOW_MS = 10 * 60_000;

export async function runNodeJob(job: NodeJobData, ctx: NodeJobContext): Promise<NodeState> {
  const { runId, node } = job;
  const startedAt = new Date().toISOString();
  const kernel = release();
  // The deadline goes first: a node that is running always has one for the reaper. All three are sent
  // at once on the one connection, which keeps their order: one round trip instead of three. The plan
  // (read once: the live rules start from it and the node's analysis ends with it) is read beside them.
  const [, started, planned] = await Promise.all([
    ctx.store.extendDeadline(runId, Date.now() + job.durationMs + RUN_GRACE_MS),
    ctx.store.startNode(runId, node, { status: 'running', startedAt, kernel }, { durationMs: job.durationMs }),
    ctx.store.getPlanned(runId).catch((err: Error) => err),
  ]);
  if (!started.moved) {
    // Cancelled while waiting, or the run expired: nothing to capture.
    log.info('node job not started', { runId, node, status: started.status });
    return { status: started.status === 'missing' ? 'cancelled' : started.status, startedAt, kernel };
  }
  ctx.onStarted?.();

  // Event captures write their events here as they arrive; it goes when the job ends, however it ends.
  // None without one (a directory made and removed per job was ~10% of a 1,000-node fleet's job CPU).
  const spool = job.steps.some((s) => captures.get(s.capture)?.kind === 'events') ? createRunSpool(runId, ctx.spoolRoot) : undefined;
  const deadline = keepDeadline(ctx.store, runId, { graceMs: RUN_GRACE_MS, capMs: Date.now() + job.durationMs + MAX_AFTER_WINDOW_MS });
  try {
    return await captureStoreAndAnalyze(job, ctx, { startedAt, kernel, planned }, spool?.dir, deadline);
  } finally {
    await deadline.stop();
    // Unlinking took 0.05–0.75 s per node with 50 workers ending at once on this VM's disk (ext4, discard):
    // a worker's job completes (which releases the run's finalize) and the directory goes after.
    const removed = spool?.remove().catch((err: unknown) => log.warn('spool directory not removed', { dir: spool.dir, error: (err as Error).message }));
    if (removed) {
      if (ctx.afterReport) ctx.afterReport(removed);
      else await removed;
    }
  }
}

async function captureStoreAndAnalyze(
  job: NodeJobData,
  ctx: NodeJobContext,
  started: { startedAt: string; kernel: string; planned: RunRecord | undefined | Error },
  spoolDir: string | undefined,
  deadline: DeadlineKeeper,
): Promise<NodeState> {
  const { runId, node } = job;
  const { startedAt, kernel, planned } = started;
  const falcoLive = startLiveRules(ctx, job, planned);
  const cost = startCostMeter(ctx.own);
  const eventSteps = job.steps.filter((s) => captures.get(s.capture)?.kind === 'events').length;
  const spoolBudgetBytes = Math.floor((ctx.eventSpoolBytes ?? DEFAULT_WORKER_EVENT_SPOOL_MIB * 1024 * 1024) / Math.max(1, eventSteps));
  const storing = new Semaphore(STORES_AT_ONCE);
  // Every step listens to the job's signal: a runbook of 21 steps is no listener leak (node warns past 10).
  if (ctx.signal) setMaxListeners(job.steps.length + 10, ctx.signal);
  const outcomes = await Promise.all(
    job.steps.map(async (step): Promise<{ summary: CaptureSummary; stored?: StoredResult }> => {
      const def = captures.get(step.capture);
      if (!def) return { summary: failedStep(step.capture, `this worker has no capture "${step.capture}"`) };
      const live = def.kind === 'events' ? livePublisher(ctx.store, runId, node, def as CaptureDefinition) : undefined;
      try {
        const result = await runCapture(def, {
          durationMs: job.durationMs,
          params: step.params,
          target: job.target,
          signal: ctx.signal,
          cpuBudgetPercent: job.cpuBudgetPercent ?? DEFAULT_CPU_BUDGET_PERCENT,
          redaction: ctx.redaction,
          ...(ctx.pool ? { pool: ctx.pool } : {}),
          ...(ctx.own ? { excludeCgroupId: ctx.own.id } : {}),
          ...(spoolDir ? { spool: { dir: spoolDir, budgetBytes: spoolBudgetBytes } } : {}),
          ...(ctx.afterReport ? { detachLater: ctx.afterReport } : {}),
          onLive: () => void ctx.store.appendEvent(runId, { type: 'capture-live', node, capture: step.capture }).catch(() => {}),
          ...(falcoLive
            ? {
                onRecords: (records: unknown[]) =>
                  records.length ? falcoLive.session.add(step.capture, { events: records }) : falcoLive.session.streams(step.capture),
              }
            : {}),
          ...(live ? { onEvents: live.onEvents } : {}),
        });
        await live?.flushed();
        if (result.stopped) {
          log.warn('capture stopped over its BPF CPU budget', { runId, node, capture: step.capture, ...result.stopped });
          void ctx.store.appendEvent(runId, { type: 'capture-stopped', node, capture: step.capture, ...result.stopped }).catch(() => {});
        }
        if (result.truncated) log.warn('capture truncated at a budget', { runId, node, capture: step.capture, ...result.truncated });
        const artifact = `${step.capture}.json`;
        const store = (name: string, contentType: string, content: CaptureFile['content']) =>
          putArtifact(ctx.redis, { runId, node, name, contentType, ttlSeconds: ctx.retentionSeconds }, content);
        // Spooled events are read from disk in chunks as they are stored (resultJson, eventFiles).
        const { meta, files } = await storing.run(async () => {
          const meta = await store(artifact, 'application/json', resultJson(result));
          const files = def.files?.(result) ?? [];
          for (const file of files) await store(file.name, file.contentType, file.content);
          return { meta, files };
        });
        const summary: CaptureSummary = {
          capture: step.capture,
          kind: result.kind,
          count: def.count(result),
          dropped: result.dropped,
          bpfCpuNs: result.bpfCpuNs,
          durationMs: result.durationMs,
          cancelled: result.cancelled,
          ...(result.stopped ? { stopped: result.stopped } : {}),
          ...(result.truncated ? { truncated: result.truncated } : {}),
          redactions: result.redactions ?? 0,
          artifact,
          bytes: meta.bytes,
          files: files.map((f) => f.name),
        };
        return { summary, stored: { artifact, bytes: meta.bytes, result } };
      } catch (err) {
        if (err instanceof NotSupportedError) {
          log.info('capture skipped: not supported on this host', { runId, node, capture: step.capture, reason: err.message });
          return { summary: { ...failedStep(step.capture, err.message), skipped: true } };
        }
        log.warn('capture failed', { runId, node, capture: step.capture, error: (err as Error).message });
        return { summary: failedStep(step.capture, (err as Error).message) };
      }
    }),
  );
  const results = outcomes.map((o) => o.summary);
  // In step order, as finalize would read them; never fails the node.
  const falco = await analyzeOwnResults(
    ctx,
    runId,
    node,
    outcomes.flatMap((o) => (o.stored ? [o.stored] : [])),
    falcoLive,
    planned instanceof Error ? undefined : planned,
  ).finally(() => falcoLive?.session.close());

  // Stopped (the window ended early on purpose) completes; cancelled does not.
  const cancelled = (ctx.signal?.aborted ?? false) && ctx.signal?.reason !== STOP_REASON;
  const anyCompleted = results.some((r) => !r.error);
  const state: NodeState = {
    status: cancelled ? 'cancelled' : anyCompleted ? 'completed' : 'failed',
    kernel,
    startedAt,
    finishedAt: new Date().toISOString(),
    captures: results,
    sherlock: cost.stop(results),
    ...(falco ? { falco } : {}),
    ...(anyCompleted ? {} : { error: results.map((r) => `${r.capture}: ${r.error}`).join('; ') }),
  };
  await deadline.stop();
  const finished = await ctx.store.finishNode(runId, node, state);
  // The reaper (or a cancel) settled this node first: its verdict stands, and the node says so.
  if (!finished.moved) {
    log.warn('node result arrived after the node was settled; its status stays', { runId, node, status: finished.status, reported: state.status });
    if (finished.status === 'missing') return state;
    return { ...state, status: finished.status, error: `settled as ${finished.status} before this worker reported back (${state.status})` };
  }
  return state;
}

/** Live alerts posted to the run's events per node, and per rule (a noisy rule leaves room for the others); all are in the node's alerts file. */
export const MAX_LIVE_ALERTS = 200;
export const MAX_LIVE_ALERTS_PER_RULE = 5;

/**
 * The run's Falco rules, matched while the captures stream; each alert is
 * posted to the run's events (SSE) as it is made. Undefined when the run has
 * no rules for these captures, or they cannot be started (then the results
 * are matched at the end, and the reason is logged).
 */
function startLiveRules(ctx: NodeJobContext, job: NodeJobData, run: RunRecord | undefined | Error): FalcoStart | undefined {
  const { runId, node } = job;
  try {
    if (run instanceof Error) throw run;
    if (!run) return undefined;
    let posted = 0;
    const perRule = new Map<string, number>();
    const onAlert = (alert: FalcoAlert) => {
      const ofRule = perRule.get(alert.rule) ?? 0;
      if (posted >= MAX_LIVE_ALERTS || ofRule >= MAX_LIVE_ALERTS_PER_RULE) return;
      posted++;
      perRule.set(alert.rule, ofRule + 1);
      const event = { type: 'falco-alert', node, rule: alert.rule, priority: alert.priority, output: alert.output, at: alert.time };
      void ctx.store.appendEvent(runId, event).catch(() => {});
    };
    return startFalcoSession(
      run,
      node,
      job.steps.map((s) => s.capture),
      { operatorPaths: ctx.falcoRules ?? [] },
      onAlert,
    );
  } catch (err) {
    log.warn('Falco rules could not start; the results will be matched at the end', { runId, node, error: (err as Error).message });
    return undefined;
  }
}

function failedStep(capture: string, error: string): CaptureSummary {
  return { capture, kind: captures.get(capture)?.kind ?? 'events', count: 0, dropped: 0, bpfCpuNs: 0, durationMs: 0, cancelled: false, error };
}
