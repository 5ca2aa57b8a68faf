// tcplife's setup: its ring buffer's size and how many connections it follows.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));

const settings = {
  maxEvents: integer(1, 1_000_000, 100_000, 'connections kept; later ones are counted as dropped (event_cap)'),
  ringBufferMiB: integer(1, 256, 4, 'kernel ring buffer size, rounded up to a power of two'),
  maxConnections: integer(64, 4_194_304, 16_384, 'connections open at once that can be followed; more count as map_full'),
};
const defaults = settingsDefaults(settings);

export const tcplifeSetup = {
  name: 'tcplife',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('events', pow2(params.ringBufferMiB) * 1024 * 1024);
    object.setMaxEntries('conns', params.maxConnections);
  },
} satisfies CaptureSetup<typeof defaults>;
