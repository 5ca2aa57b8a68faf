// tcplife's setup: its ring buffer's size and how many connections it follows.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));

const defaults = { maxEvents: 100_000, ringBufferMiB: 4, maxConnections: 16_384 };

export const tcplifeSetup = {
  name: 'tcplife',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('events', pow2(params.ringBufferMiB) * 1024 * 1024);
    object.setMaxEntries('conns', params.maxConnections);
  },
} satisfies CaptureSetup<typeof defaults>;
