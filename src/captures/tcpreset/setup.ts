// tcpreset's setup: its table sizes.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { configureOwners } from '../tcp-owner.js';

const defaults = { maxRows: 100, maxFlows: 10_240, maxSockets: 16_384 };

export const tcpresetSetup = {
  name: 'tcpreset',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('resets', params.maxFlows);
    configureOwners(object, params.maxSockets);
  },
} satisfies CaptureSetup<typeof defaults>;
