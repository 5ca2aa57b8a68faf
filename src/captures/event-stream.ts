// What every streaming (events-kind) capture shares: its settings for the
// event cap and ring buffer, a collector that drains the ring buffer "events"
// and counts what is past the cap as dropped, and the NDJSON file.
import { z } from 'zod';
import { RingBufferReader, type BpfObject } from '../libbpf/index.js';
import { eventIdentities } from '../cgroups/process-cgroup.js';
import type { CaptureFile, CaptureResult, SyncCollector } from './capture.js';
import type { CaptureTruncation } from '../model/run.js';

export const streamParams = {
  maxEvents: z.number().int().min(1).max(1_000_000).default(100_000).describe('events kept; later ones are counted as dropped (event_cap)'),
  ringBufferMiB: z.number().int().min(1).max(256).default(4).describe('kernel ring buffer size, rounded up to a power of two'),
};

/** Sizes the ring buffer "events"; call from configure(). */
export function sizeRingBuffer(object: BpfObject, mib: number): void {
  object.setMaxEntries('events', 2 ** Math.ceil(Math.log2(mib)) * 1024 * 1024);
}

/** `keep` stores an event unless the cap is reached (then it is counted and undefined is returned). */
export type RecordHandler<E> = (record: Buffer, keep: (event: E) => E | undefined) => void;

/**
 * Drains the ring buffer "events" into a list bounded by `maxEvents` and by
 * `budgetBytes` (the estimated memory of the events kept; the node's share of
 * load.workerEventMemoryMiB). Past either, records are counted, not decoded,
 * and the result says it was truncated. `settle`, when given, runs once the
 * window is over, for events a handler held back (it keeps them with the same
 * `keep`).
 */
export function eventCollector<E>(
  object: BpfObject,
  maxEvents: number,
  handle: RecordHandler<E>,
  settle?: (keep: (event: E) => E | undefined) => void,
  budgetBytes = Infinity,
): SyncCollector<{ events: E[] }> {
  const reader = new RingBufferReader(object.map('events'));
  const events: E[] = [];
  let bytes = 0;
  let full: CaptureTruncation['reason'] | undefined;
  let overCap = 0;
  const identityOf = eventIdentities();
  const keep = (event: E) => {
    if (!full && events.length >= maxEvents) full = 'event-cap';
    if (!full && bytes >= budgetBytes) full = 'memory-budget';
    if (full) return void overCap++;
    const kept = withContainer(event, identityOf);
    bytes += estimateBytes(kept);
    events.push(kept);
    return event;
  };
  // Once full, a record costs a count: no decoding, no allocation.
  const onRecord = (record: Buffer) => (full ? void overCap++ : handle(record, keep));
  let taken = 0;
  return {
    poll: () => void reader.drain(onRecord),
    take: () => {
      const fresh = events.slice(taken);
      taken = events.length;
      return fresh;
    },
    finish: () => {
      settle?.(keep);
      return { events };
    },
    drops: () => (overCap ? { [full === 'memory-budget' ? 'memory_budget' : 'event_cap']: overCap } : {}),
    truncated: () => (full ? truncation(full, events.length, overCap, full === 'event-cap' ? maxEvents : budgetBytes) : undefined),
    close: () => reader.close(),
  };
}

function truncation(reason: CaptureTruncation['reason'], keptEvents: number, droppedEvents: number, limit: number): CaptureTruncation {
  const message =
    reason === 'event-cap'
      ? `kept the first ${keptEvents} events (maxEvents ${limit}); ${droppedEvents} later ones were dropped`
      : `kept ${keptEvents} events in ~${Math.round(limit / 1048576)} MiB, this capture's share of load.workerEventMemoryMiB; ${droppedEvents} later ones were dropped`;
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
 * most likely still runs (the ring buffer is drained every 10 ms).
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

/** Events as NDJSON, one record a line: what log tools and `jq -c` take. */
export function eventFiles(result: CaptureResult<{ events: unknown[] }>): CaptureFile[] {
  const lines = result.events.map((e) => JSON.stringify(e)).join('\n');
  return [{ name: `${result.capture}.ndjson`, contentType: 'application/x-ndjson', content: lines ? lines + '\n' : '' }];
}
