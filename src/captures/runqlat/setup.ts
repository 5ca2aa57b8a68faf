// runqlat's setup: how it groups its histograms, and its table sizes.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';

const defaults = { perProcess: true, perCgroup: false, maxGroups: 4096, maxThreads: 16_384, top: 10 };

export const runqlatSetup = {
  name: 'runqlat',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setRodata({ per_process: params.perProcess && !params.perCgroup, per_cgroup: params.perCgroup });
    object.setMaxEntries('hists', params.maxGroups);
    object.setMaxEntries('starts', params.maxThreads);
  },
} satisfies CaptureSetup<typeof defaults>;
