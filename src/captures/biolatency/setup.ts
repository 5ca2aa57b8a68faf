// biolatency's setup: how its object is sized.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';

const defaults = { maxInflight: 10_240 };

export const biolatencySetup = {
  name: 'biolatency',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('starts', params.maxInflight);
  },
} satisfies CaptureSetup<typeof defaults>;
