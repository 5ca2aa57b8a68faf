// execsnoop's setup: its children follow, and its ring buffer's size.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { sizeRingBuffer } from '../ring-buffer-size.js';

const defaults = { maxEvents: 100_000, ringBufferMiB: 4 };

export const execsnoopSetup = {
  name: 'execsnoop',
  bpfObject: true,
  defaults,
  followForks: true,
  configure(object: BpfObject, params: typeof defaults) {
    sizeRingBuffer(object, params.ringBufferMiB);
  },
} satisfies CaptureSetup<typeof defaults>;
