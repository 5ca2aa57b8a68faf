// What every streaming (events-kind) capture shares: its settings for the
// event cap and ring buffer, a collector that drains the ring buffer "events"
// and counts what is past the cap as dropped, and the NDJSON file.
import { z } from 'zod';
import { RingBufferReader, type BpfObject } from '../libbpf/index.js';
import type { CaptureFile, CaptureResult, Collector } from './capture.js';

export const streamParams = {
  maxEvents: z.number().int().min(1).max(1_000_000).default(100_000)
    .describe('events kept; later ones are counted as dropped (event_cap)'),
  ringBufferMiB: z.number().int().min(1).max(256).default(4)
    .describe('kernel ring buffer size, rounded up to a power of two'),
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
  const keep = (event: E) => {
    if (events.length >= maxEvents) return void overCap++;
    events.push(event);
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
    close: () => reader.close(),
  };
}

/** Events as NDJSON, one record a line: what log tools and `jq -c` take. */
export function eventFiles(result: CaptureResult<{ events: unknown[] }>): CaptureFile[] {
  const lines = result.events.map((e) => JSON.stringify(e)).join('\n');
  return [{ name: `${result.capture}.ndjson`, contentType: 'application/x-ndjson', content: lines ? lines + '\n' : '' }];
}
