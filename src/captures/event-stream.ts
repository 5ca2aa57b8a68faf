// What every streaming (events-kind) capture shares: its settings for the
// event cap and ring buffer, a collector that drains the ring buffer "events"
// and counts what is past the cap as dropped, and the NDJSON file.
import { z } from 'zod';
import { RingBufferReader, type BpfObject } from '../libbpf/index.js';
import { eventIdentities } from '../cgroups/process-cgroup.js';
import type { CaptureFile, CaptureResult, Collector } from './capture.js';

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
 * Drains the ring buffer "events" into a capped list. `settle`, when given,
 * runs once the window is over, for events a handler held back (it keeps them
 * with the same `keep`).
 */
export function eventCollector<E>(
  object: BpfObject,
  maxEvents: number,
  handle: RecordHandler<E>,
  settle?: (keep: (event: E) => E | undefined) => void,
): Collector<{ events: E[] }> {
  const reader = new RingBufferReader(object.map('events'));
  const events: E[] = [];
  let overCap = 0;
  const identityOf = eventIdentities();
  const keep = (event: E) => {
    if (events.length >= maxEvents) return void overCap++;
    events.push(withContainer(event, identityOf));
    return event;
  };
  const onRecord = (record: Buffer) => handle(record, keep);
  return {
    poll: () => void reader.drain(onRecord),
    finish: () => {
      settle?.(keep);
      return { events };
    },
    drops: () => (overCap ? { event_cap: overCap } : {}),
    kept: () => events,
    close: () => reader.close(),
  };
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
