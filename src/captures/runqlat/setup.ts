// runqlat's setup: how it groups its histograms, and its table sizes.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, integer, settingsDefaults } from '../settings.js';

const settings = {
  perProcess: boolean(true, 'one histogram per process (pid + thread name) besides the overall one'),
  perCgroup: boolean(false, 'one histogram per cgroup (v2) instead of per process'),
  maxGroups: integer(16, 65_536, 4096, 'processes (or cgroups) with a histogram; past it their waits count only overall (map_full)'),
  maxThreads: integer(1024, 1_048_576, 16_384, 'runnable threads timed at once; past it waits are dropped (map_full)'),
  behindMinUs: integer(100, 10_000_000, 1000, 'a wait this long (µs) or longer also counts under the task that held the CPU as it ended'),
  maxBehind: integer(64, 65_536, 4096, '(waiter, task held behind) pairs counted; past it such waits count only in the histograms (map_full)'),
  top: integer(1, 10_000, 10, 'groups printed as histograms in the text (the table and data have all)'),
};
const defaults = settingsDefaults(settings);

export const runqlatSetup = {
  name: 'runqlat',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setRodata({ per_process: params.perProcess && !params.perCgroup, per_cgroup: params.perCgroup, behind_min_us: BigInt(params.behindMinUs) });
    object.setMaxEntries('hists', params.maxGroups);
    object.setMaxEntries('starts', params.maxThreads);
    object.setMaxEntries('behind', params.maxBehind);
  },
} satisfies CaptureSetup<typeof defaults>;
