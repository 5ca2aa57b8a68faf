// biolatency's setup: how its object is sized.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  maxInflight: integer(64, 1_000_000, 10_240, 'requests in flight tracked at once; more are dropped (map_full)'),
};
const defaults = settingsDefaults(settings);

export const biolatencySetup = {
  name: 'biolatency',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('starts', params.maxInflight);
  },
} satisfies CaptureSetup<typeof defaults>;
