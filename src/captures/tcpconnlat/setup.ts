// tcpconnlat's setup: how many slowest connects it keeps, and its table sizes.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';

const defaults = { slowest: 20, maxDestinations: 1024, maxInFlight: 8192 };

export const tcpconnlatSetup = {
  name: 'tcpconnlat',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setRodata({ slowest_n: params.slowest });
    object.setMaxEntries('dest_hists', params.maxDestinations);
    object.setMaxEntries('failures', params.maxDestinations);
    object.setMaxEntries('connects', params.maxInFlight);
  },
} satisfies CaptureSetup<typeof defaults>;
