// An events capture's ring buffer ("events") sized from its ringBufferMiB
// setting: apart from event-stream.ts so that a capture's setup stays light.
import type { BpfObject } from '../libbpf/index.js';

/** Sizes the ring buffer "events"; call from configure(). */
export function sizeRingBuffer(object: BpfObject, mib: number): void {
  object.setMaxEntries('events', 2 ** Math.ceil(Math.log2(mib)) * 1024 * 1024);
}
