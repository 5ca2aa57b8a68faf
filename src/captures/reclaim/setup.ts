// reclaim's setup: its table sizes, and whether this kernel has vmscan's tracepoints.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint, NotSupportedError } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  maxGroups: integer(
    16,
    65_536,
    4096,
    'processes (per thread name and memory cgroup) with their own counts; past it stalls count only in the histogram (map_full)',
  ),
  maxThreads: integer(64, 1_048_576, 4096, 'threads reclaiming at once; past it their stalls are not timed (map_full)'),
  top: integer(1, 10_000, 10, 'processes printed in the text (the table and data have all)'),
};
const defaults = settingsDefaults(settings);

export const reclaimSetup = {
  name: 'reclaim',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    if (!hasTracepoint('vmscan', 'mm_vmscan_direct_reclaim_begin'))
      throw new NotSupportedError('tracepoint vmscan:mm_vmscan_direct_reclaim_begin', 'is not available in this kernel: reclaim stalls cannot be seen here');
    object.setMaxEntries('stalls', params.maxGroups);
    object.setMaxEntries('starts', params.maxThreads);
  },
} satisfies CaptureSetup<typeof defaults>;
