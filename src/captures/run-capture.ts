// Runs one capture against the kernel: resolve the target → open → settings →
// load → attach → drain until the duration ends or the signal aborts → read →
// detach and close. One exit path: everything taken is released in `finally`.
import { setImmediate } from 'node:timers/promises';
import { tracingRoot } from '../libbpf/index.js';
import { elapsedMs, monoNow } from '../util/clock.js';
import { redactCaptureData, type SecretPattern } from '../redact/index.js';
import type { CaptureDefinition, CaptureResult, Collector } from './capture.js';
import { fillTgidFilter, readKernelCounters } from './contract.js';
import { openConfigured, type ObjectSettings } from './open-configured.js';
import type { WarmPool } from './warm-pool.js';
import { resolveTarget, type ResolvedTarget, type TargetSpec } from './target.js';
import { CpuBudgetMeter } from './cpu-budget.js';
import { trackRunTime, type RunTimeMeter } from './run-time-sampler.js';
import { liveTap, type LiveEventsHandler } from './live-events.js';
import { CPU_BUDGET_SAMPLE_MS } from '../model/limits.js';
import type { CaptureStop } from '../model/run.js';
import { spooledEventsOf, type SpoolSettings } from './event-spool.js';
import { checkSettings } from './settings.js';
import { everyDrainTick } from './drain-clock.js';

const PROGRESS_INTERVAL_MS = 250;
export const MAX_DURATION_MS = 60 * 60 * 1000;

export interface CaptureProgress {
  elapsedMs: number;
  remainingMs: number;
}

export interface CaptureRequest {
  durationMs: number;
  params?: unknown;
  target?: TargetSpec;
  /** Sherlock's own cgroup (v2 id): left out of host-wide captures (src/captures/own-cgroup.ts). */
  excludeCgroupId?: bigint;
  /** Ends the capture early; the result then holds what was seen so far. */
  signal?: AbortSignal;
  onProgress?(progress: CaptureProgress): void;
  /**
   * Share of one CPU (percent) the capture's BPF programs may cost, sampled every
   * second; over it, the capture is detached at once and says so (`stopped`).
   * Absent: no budget (the local `sherlock capture`).
   */
  cpuBudgetPercent?: number;
  /** Called once the probes are live (the benchmark measures up to here). */
  onLive?(): void;
  /** The operator's secret patterns, besides the built-in ones (config `redaction.patterns`). */
  redaction?: readonly SecretPattern[];
  /**
   * Records as they arrive, redacted, in the shape the result stores them
   * ({ events } of an events-kind capture): called once with [] when the
   * capture can stream (its collector has take), then with every new batch,
   * the last ones before runCapture returns. Not called for a capture that
   * is read only at the end.
   */
  onRecords?(records: unknown[]): void;
  /** Objects loaded ahead of time (a worker's): with one for these settings, the run only attaches. */
  pool?: WarmPool;
  /** A streaming capture's new events while it runs, for people watching (redacted copies, rate-capped: src/captures/live-events.ts). */
  onEvents?: LiveEventsHandler;
  /** Without a spool: memory its kept events may take (estimated bytes); past it an events capture keeps no more and says so. Absent: no budget. */
  eventBudgetBytes?: number;
  /**
   * Given: the result is read at the window's end with the probes still on,
   * returned at once, and their detach (then the object's close) is handed
   * here to finish later. A tracepoint's detach waits an RCU grace period,
   * 40-200 ms on a busy host and serialized in the kernel, so 50 workers
   * ending together took seconds before any could report. Absent: detached
   * before the last drain, as `sherlock capture` does.
   */
  detachLater?(detached: Promise<void>): void;
  /** An events capture writes its events here as they arrive (a worker's run), up to its byte budget; absent: kept in memory. */
  spool?: SpoolSettings;
}

/** Settings that do not fit the capture's schema; the message lists what is allowed. */
export class CaptureParamsError extends Error {
  override name = 'CaptureParamsError';
}

export async function runCapture<P, D>(def: CaptureDefinition<P, D>, request: CaptureRequest): Promise<CaptureResult<D>> {
  if (!(request.durationMs > 0 && request.durationMs <= MAX_DURATION_MS)) {
    throw new CaptureParamsError(`duration must be between 1ms and ${MAX_DURATION_MS / 60_000}m, got ${request.durationMs}ms`);
  }
  const params = parseParams(def, request.params);
  const target = resolveTarget(request.target);
  if (def.sample) return runSampled(def, def.sample, params, target, request);
  if (!def.collect) throw new CaptureParamsError(`${def.name} has neither collect nor sample: it cannot run`);
  tracingRoot();

  const startedAt = new Date();
  const t0 = monoNow();
  const settings: ObjectSettings<P> = { def, params, target, excludeCgroupId: request.excludeCgroupId };
  const warmObject = request.pool?.take(settings as ObjectSettings, request.durationMs);
  const object = warmObject ?? openConfigured(settings);
  if (!warmObject) request.pool?.remember(settings as ObjectSettings, object);
  let collector: Collector<D> | undefined;
  let runTime: RunTimeMeter | undefined;
  try {
    const openMs = elapsedMs(t0);
    // Off the event loop: other captures of the run start meanwhile.
    if (!warmObject) await object.loadAsync();
    fillTgidFilter(object, target);
    const loadMs = elapsedMs(t0) - openMs;
    collector = def.collect({
      object,
      params,
      target,
      ...(request.eventBudgetBytes !== undefined ? { eventBudgetBytes: request.eventBudgetBytes } : {}),
      ...(request.spool ? { spool: { ...request.spool, redaction: request.redaction ?? [] } } : {}),
      ...(request.excludeCgroupId !== undefined ? { excludeCgroupId: request.excludeCgroupId } : {}),
    });
    const deliver = recordDelivery(collector, request);
    runTime = trackRunTime(object); // before the attach: the first runs are timed
    await object.attachAllAsync(def.perfEvent ? { perfEvent: def.perfEvent(params) } : {});
    const attachMs = elapsedMs(t0) - openMs - loadMs;
    request.onLive?.();

    const liveAt = monoNow();
    const meter = request.cpuBudgetPercent !== undefined ? new CpuBudgetMeter(runTime, request.cpuBudgetPercent) : undefined;
    const ended = await waitAndDrain(request, collector, meter, deliver);
    collector.windowEnded?.();
    const cancelled = ended === 'cancelled';
    const stopped = typeof ended === 'object' ? ended : undefined;
    const durationMs = elapsedMs(liveAt);
    const cost = runTime.stop();
    // Detached first, so the last drain sees everything that was submitted; or (detachLater) the last
    // drain is the window's end, and what fires while the result is read may be in it or not. A
    // capture over its CPU budget comes off at once either way: the others' windows go on.
    if (!request.detachLater || stopped) await object.detachAll();
    // What a storm left in the ring: a slice per event-loop turn, so heartbeats and the other captures go on.
    while (collector.behind?.()) {
      collector.poll?.();
      deliver?.();
      await setImmediate();
    }
    collector.poll?.();
    deliver?.();
    // The one seam every capture's data leaves through: secrets are hidden here,
    // before anything stores, analyzes, prints or posts it.
    // Spooled events were redacted as they were written (event-spool.ts).
    const { data, redactions } = redactCaptureData(await collector.finish(), request.redaction);
    const spooled = spooledEventsOf(data);
    deliver?.(true); // records a collector kept only in finish (held back until the window ended)
    const counters = readKernelCounters(object);
    const drops = { ...counters.drops, ...collector.drops?.() };
    const truncated = collector.truncated?.();
    const bounds = Object.fromEntries(object.spec.maps.map((m) => [m.name, m.maxEntries]));
    return {
      capture: def.name,
      kind: def.kind,
      target: target.description,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(durationMs),
      requestedDurationMs: request.durationMs,
      cancelled,
      ...(stopped ? { stopped } : {}),
      ...(truncated ? { truncated } : {}),
      dropped: Object.values(drops).reduce((a, b) => a + (b ?? 0), 0),
      drops,
      partialReads: counters.partialReads + (collector.partialReads?.() ?? 0),
      redactions: redactions + (spooled?.counts.redactions ?? 0),
      bpfCpuNs: Math.round(cost.ns),
      bpfRunCount: Math.round(cost.runs),
      bounds,
      timings: { openMs: round2(openMs), loadMs: round2(loadMs), attachMs: round2(attachMs), warm: Boolean(warmObject) },
      ...data,
    };
  } finally {
    runTime?.stop();
    const release = () => {
      collector?.close?.();
      object.close();
    };
    if (request.detachLater) request.detachLater(object.detachAll().then(release, release));
    else release();
  }
}

/** A capture without a BPF object: sample at the start, wait out the window, finish at the end. */
async function runSampled<P, D>(
  def: CaptureDefinition<P, D>,
  sample: NonNullable<CaptureDefinition<P, D>['sample']>,
  params: P,
  target: ResolvedTarget,
  request: CaptureRequest,
): Promise<CaptureResult<D>> {
  const startedAt = new Date();
  const t0 = monoNow();
  const collector = sample({
    params,
    target,
    ...(request.excludeCgroupId !== undefined ? { excludeCgroupId: request.excludeCgroupId } : {}),
    ...(request.spool ? { spool: request.spool } : {}),
  });
  try {
    const openMs = elapsedMs(t0);
    request.onLive?.();
    const liveAt = monoNow();
    const cancelled = (await waitAndDrain(request, collector)) === 'cancelled';
    const durationMs = elapsedMs(liveAt);
    const data = await collector.finish();
    const drops = { ...collector.drops?.() };
    return {
      capture: def.name,
      kind: def.kind,
      target: target.description,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(durationMs),
      requestedDurationMs: request.durationMs,
      cancelled,
      dropped: Object.values(drops).reduce((a, b) => a + (b ?? 0), 0),
      drops,
      partialReads: 0,
      bpfCpuNs: 0,
      bpfRunCount: 0,
      bounds: {},
      timings: { openMs: round2(openMs), loadMs: 0, attachMs: 0 },
      ...data,
    };
  } finally {
    collector.close?.();
  }
}

function parseParams<P>(def: CaptureDefinition<P, unknown>, input: unknown): P {
  const checked = checkSettings(def.settings, input ?? {});
  if ('params' in checked) return checked.params as P;
  throw new CaptureParamsError(`${def.name}: ${checked.problems.join('; ')}`);
}

/**
 * Sleeps until the duration ends, the signal aborts or the BPF cost goes over
 * its budget, draining every tick. Returns how it ended. A tick that throws (a
 * decoder meeting a record it cannot read) fails this capture, not the process
 * and the other captures of the run.
 */
function waitAndDrain(
  request: CaptureRequest,
  collector: Collector<unknown>,
  meter?: CpuBudgetMeter,
  deliver?: () => void,
): Promise<'done' | 'cancelled' | CaptureStop> {
  const { durationMs, signal, onProgress } = request;
  const start = monoNow();
  return new Promise((resolve, reject) => {
    let lastProgress = -Infinity;
    const end = () => {
      stopTicks();
      clearInterval(sampler);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
    };
    const finish = (how: 'done' | 'cancelled' | CaptureStop) => {
      end();
      resolve(how);
    };
    const guarded = (tick: () => void) => () => {
      try {
        tick();
      } catch (err) {
        end();
        reject(err as Error);
      }
    };
    const onAbort = () => finish('cancelled');
    const sampler = setInterval(
      guarded(() => {
        const stop = meter?.sample();
        if (stop) finish(stop);
      }),
      CPU_BUDGET_SAMPLE_MS,
    );
    if (!meter) clearInterval(sampler);
    const stopTicks = everyDrainTick(
      guarded(() => {
        collector.poll?.();
        deliver?.();
        const elapsed = elapsedMs(start);
        if (onProgress && elapsed - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = elapsed;
          onProgress({ elapsedMs: elapsed, remainingMs: Math.max(0, durationMs - elapsed) });
        }
      }),
    );
    const deadline = setTimeout(() => finish('done'), durationMs);
    if (signal?.aborted) return finish('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * What hands a streaming collector's new records, as they arrive, to whoever
 * asked: request.onRecords (Falco rules: all of them) and request.onEvents
 * (people watching: rate-capped, src/captures/live-events.ts). Copies,
 * redacted as the result will be (the collector's own records are redacted
 * once, at the end, where the result's redaction count is made). Called on
 * every drain; `final` after the last one.
 */
function recordDelivery(collector: Collector<unknown>, request: CaptureRequest): ((final?: boolean) => void) | undefined {
  const take = collector.take?.bind(collector);
  if (!take || (!request.onRecords && !request.onEvents)) return undefined;
  take(); // the stream starts: from now on the collector keeps what it has not handed over
  const live = request.onEvents ? liveTap(request.onEvents) : undefined;
  let onRecords = request.onRecords;
  const hand = (records: unknown[]) => {
    try {
      onRecords?.(records);
    } catch {
      onRecords = undefined; // the consumer's failure never ends the capture; it stops being fed
    }
  };
  hand([]);
  return (final = false) => {
    const fresh = take();
    if (fresh.length) {
      const copies = redactCaptureData(structuredClone(fresh), request.redaction).data;
      hand(copies);
      live?.push(copies);
    }
    live?.tick(final);
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
