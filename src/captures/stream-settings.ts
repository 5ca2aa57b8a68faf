// What every streaming (events-kind) capture takes: its event cap and ring buffer
// size (settings.ts), and the ring buffer "events" sized from them. Apart from
// event-stream.ts (the collector) so that a capture's setup stays light.
import type { BpfObject } from '../libbpf/index.js';
import { integer } from './settings.js';

export const streamSettings = {
  maxEvents: integer(1, 1_000_000, 100_000, 'events kept; later ones are counted as dropped (event_cap)'),
  ringBufferMiB: integer(1, 256, 4, 'kernel ring buffer size, rounded up to a power of two'),
};

/** Sizes the ring buffer "events"; call from configure(). */
export function sizeRingBuffer(object: BpfObject, mib: number): void {
  object.setMaxEntries('events', 2 ** Math.ceil(Math.log2(mib)) * 1024 * 1024);
}
