// tcpretrans's setup: its table sizes.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';
import { configureOwners } from '../tcp-owner.js';

const settings = {
  maxRows: integer(1, 1_000_000, 100, 'flow rows kept, the most retransmits first'),
  maxFlows: integer(16, 1_000_000, 10_240, '(flow, state, owner) rows counted in the kernel; more are dropped (map_full)'),
  maxSockets: integer(16, 1_000_000, 16_384, 'sockets whose owner is remembered; past it their retransmits lose the owner (map_full)'),
};
const defaults = settingsDefaults(settings);

export const tcpretransSetup = {
  name: 'tcpretrans',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('flows', params.maxFlows);
    configureOwners(object, params.maxSockets);
  },
} satisfies CaptureSetup<typeof defaults>;
