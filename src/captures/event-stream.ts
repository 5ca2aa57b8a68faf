// What every streaming (events-kind) capture shares: its settings for the
// event cap and ring buffer, a collector that drains the ring buffer "events"
// into memory or a spool file (a worker's run, event-spool.ts) and counts
// what is past a budget as dropped, and the NDJSON file.
import { RingBufferReader, type BpfObject } from '../libbpf/index.js';
import { eventIdentities } from '../cgroups/process-cgroup.js';
import type { CaptureFile, CaptureResult, SyncCollector } from './capture.js';
import type { CaptureTruncation } from '../model/run.js';
import { EventSpoolWriter, type SpooledEvents, type SpoolSettings } from './event-spool.js';

/** `keep` stores an event unless a budget is reached (then it is counted and undefined is returned). */
export type Keep<E> = (event: E) => E | undefined;
/** Sets fields learnt after the event was kept (an exec's exit), whether it is still in memory or already spooled. */
export type Amend<E> = (event: E, fields: Partial<E>) => void;
export type RecordHandler<E> = (record: Buffer, keep: Keep<E>, amend: Amend<E>) => void;

/** An events capture's budgets and, in a worker's run, where its events spool to. */
export interface EventBudgets {
  /** The capture's maxEvents. */
  maxEvents: number;
  /** Without a spool: estimated heap bytes the kept events may take (none when absent). */
  memoryBytes?: number;
  /** With a spool, events go to disk, held against its byte budget; in memory only a bounded part. */
  spool?: SpoolSettings;
  /** The handler amends kept events (an exec's exit): spooled events then wait HOLD_EVENTS in memory first. */
  amends?: boolean;
}

/** What a spooling collector holds in memory now: events not yet written or not yet taken, and its write buffer. */
export interface HeldInMemory {
  events: number;
  bytes: number;
}

/**
 * Where the handler amends, spooled events stay in memory at least this long (in events) before they are written
 * (an exec's exit usually comes within); they are written HOLD_EVENTS at a time, so at most twice this many are
 * held. Without amends each is written as it is kept, so it dies young (no old-space garbage).
 */
export const HOLD_EVENTS = 512;
/**
 * A tick's drain stops after this long (at a chunk's end): what is left waits in
 * the ring for the next tick, or is counted as a ring drop when it overflows, so
 * a storm never holds the event loop (heartbeats, other captures' ticks, Redis
 * replies go on). The drain in finish() reads everything.
 */
export const DRAIN_SLICE_MS = 20;
/** Events kept for take() (live consumers, from its first call) between two calls; past it the oldest are not streamed (they are still in the result). */
export const MAX_UNTAKEN_EVENTS = 512;

/**
 * Drains the ring buffer "events". Without a spool the events are kept in a
 * list bounded by `maxEvents` and `memoryBytes`; with one (a worker's run)
 * they are written to its file as they arrive, bounded by `maxEvents` and the
 * spool's byte budget, and only a write buffer of SPOOL_WRITE_BYTES (plus the
 * last 2 × HOLD_EVENTS where the handler amends, and up to MAX_UNTAKEN_EVENTS
 * for live consumers) is in memory. Past a budget, records are counted, not
 * decoded, and the result says it was truncated. `settle`, when given, runs once the window is over,
 * for events a handler held back (it keeps them with the same `keep`).
 */
export function eventCollector<E>(
  object: BpfObject,
  name: string,
  budgets: EventBudgets,
  handle: RecordHandler<E>,
  settle?: (keep: Keep<E>) => void,
): SyncCollector<{ events: E[]; eventSpool?: SpooledEvents<E> }> & { held(): HeldInMemory } {
  const { maxEvents, memoryBytes = Infinity, spool, amends = false } = budgets;
  const reader = new RingBufferReader(object.map('events'));
  const writer = spool ? new EventSpoolWriter<E>(spool, name) : undefined;
  const events: E[] = []; // all kept events without a spool; the held ones with one
  let heldFrom = 0; // kept index of events[0]
  let kept = 0;
  let bytes = 0;
  let full: CaptureTruncation['reason'] | undefined;
  let overCap = 0;
  const indexOf = new WeakMap<object, number>();
  let untaken: E[] | undefined; // from the first take() on: nobody streaming, nothing kept for it
  let closed: SpooledEvents<E> | undefined;
  let windowEnd: number | undefined; // the ring's producer position when the window ended
  const identityOf = eventIdentities();
  const writeHeld = (keepLast: number) => {
    if (!writer || events.length <= keepLast) return;
    const out = events.splice(0, events.length - keepLast);
    for (const e of out) writer.append(e);
    heldFrom += out.length;
  };
  const keep: Keep<E> = (event) => {
    if (!full && kept >= maxEvents) full = 'event-cap';
    if (!full && writer && writer.bytes >= spool!.budgetBytes) full = 'spool-budget';
    if (!full && !writer && bytes >= memoryBytes) full = 'memory-budget';
    if (full) return void overCap++;
    const event2 = withContainer(event, identityOf);
    if (!writer && memoryBytes !== Infinity) bytes += estimateBytes(event2);
    if (amends && event2 && typeof event2 === 'object') indexOf.set(event2, kept);
    kept++;
    untaken?.push(event2);
    if (untaken && untaken.length > 2 * MAX_UNTAKEN_EVENTS) untaken = untaken.slice(-MAX_UNTAKEN_EVENTS);
    if (writer && !amends) writer.append(event2);
    else {
      events.push(event2);
      if (writer && events.length >= 2 * HOLD_EVENTS) writeHeld(HOLD_EVENTS);
    }
    return event2;
  };
  const amend: Amend<E> = (event, fields) => {
    const index = event && typeof event === 'object' ? indexOf.get(event) : undefined;
    if (index === undefined) return;
    if (!writer || index >= heldFrom) Object.assign(event as object, fields);
    else writer.patch(index, fields);
  };
  // Once full, a record costs a count: no decoding, no allocation.
  const onRecord = (record: Buffer) => (full ? void overCap++ : handle(record, keep, amend));
  return {
    poll: () => void reader.drain(onRecord, performance.now() + DRAIN_SLICE_MS),
    windowEnded: () => void (windowEnd = reader.producerPosition()),
    behind: () => windowEnd !== undefined && reader.consumerPosition() < windowEnd,
    take: () => {
      const fresh = !untaken ? [] : untaken.length > MAX_UNTAKEN_EVENTS ? untaken.slice(-MAX_UNTAKEN_EVENTS) : untaken;
      untaken = [];
      return fresh;
    },
    held: () => ({ events: (writer ? events.length : 0) + (untaken?.length ?? 0), bytes: writer?.heldBytes ?? 0 }),
    finish: () => {
      reader.drain(onRecord); // what the last ticks left in the ring
      settle?.(keep);
      if (!writer) return { events };
      writeHeld(0);
      closed ??= writer.close();
      return { events: [], eventSpool: closed };
    },
    drops: () => (overCap ? { [dropReason[full!]]: overCap } : {}),
    truncated: () =>
      full ? truncation(full, kept, overCap, full === 'event-cap' ? maxEvents : full === 'spool-budget' ? spool!.budgetBytes : memoryBytes) : undefined,
    partialReads: () => closed?.counts.patchesLost ?? 0,
    close: () => {
      reader.close();
      if (!closed) writer?.discard();
    },
  };
}

const dropReason = { 'event-cap': 'event_cap', 'memory-budget': 'memory_budget', 'spool-budget': 'spool_budget' } as const;

function truncation(reason: CaptureTruncation['reason'], keptEvents: number, droppedEvents: number, limit: number): CaptureTruncation {
  const mib = `~${Math.round((limit / 1048576) * 10) / 10} MiB`;
  const message =
    reason === 'event-cap'
      ? `kept the first ${keptEvents} events (maxEvents ${limit}); ${droppedEvents} later ones were dropped`
      : reason === 'spool-budget'
        ? `kept ${keptEvents} events in ${mib} of spool, this capture's share of load.workerEventSpoolMiB; ${droppedEvents} later ones were dropped`
        : `kept ${keptEvents} events in ${mib} of memory (the run's event memory budget); ${droppedEvents} later ones were dropped`;
  return { reason, keptEvents, droppedEvents, limit, message };
}

/** Rough heap bytes of a decoded event (V8 objects, strings, arrays); cheap, no serializing. */
export function estimateBytes(value: unknown): number {
  if (typeof value === 'string') return 16 + value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + estimateBytes(v), 16 + 8 * value.length);
  if (value && typeof value === 'object') {
    let n = 24;
    for (const key in value) n += 8 + estimateBytes((value as Record<string, unknown>)[key]);
    return n;
  }
  return 8;
}

/**
 * The event with its process's cgroup and container (`host` outside any)
 * and pod UID where the cgroup path shows one, looked up while the process
 * most likely still runs (the ring buffer is drained every 10-80 ms).
 */
function withContainer<E>(event: E, identityOf: ReturnType<typeof eventIdentities>): E {
  if (!event || typeof event !== 'object' || !('pid' in event)) return event;
  const identity = identityOf(event as { pid?: unknown });
  if (!identity) return event;
  const e = event as E & { cgroup?: string; container?: string; pod?: string };
  e.cgroup = identity.cgroup;
  e.container = identity.containerId;
  if (identity.podUid) e.pod = identity.podUid;
  return e;
}

/** Events as NDJSON, one record a line: what log tools and `jq -c` take; read from the spool in chunks when spooled. */
export function eventFiles(result: CaptureResult<{ events: unknown[]; eventSpool?: SpooledEvents<unknown> }>): CaptureFile[] {
  const file = { name: `${result.capture}.ndjson`, contentType: 'application/x-ndjson' };
  if (result.eventSpool) return [{ ...file, content: result.eventSpool.ndjsonChunks() }];
  const lines = result.events.map((e) => JSON.stringify(e)).join('\n');
  return [{ ...file, content: lines ? lines + '\n' : '' }];
}

/** How many events the data holds, in memory or spooled. */
export const eventCount = (data: { events: unknown[]; eventSpool?: SpooledEvents<unknown> }): number => data.eventSpool?.length ?? data.events.length;
