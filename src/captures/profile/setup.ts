// profile's setup: its perf event, table sizes and user-stack snapshots.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { configureStackTables, configureUnwinding } from '../stack-family/configure.js';

const defaults = {
  frequency: 99,
  includeIdle: false,
  stackMapEntries: 16_384,
  maxStacks: 16_384,
  maxProcesses: 8192,
  top: 20,
  userStackBytes: 16 * 1024,
  maxDepth: 256,
  snapshotBufferBytes: 16 * 1024 * 1024,
};

export const profileSetup = {
  name: 'profile',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setRodata({ include_idle: params.includeIdle });
    configureStackTables(object, 'counts', params);
    object.setMaxEntries('seen_tgids', params.maxProcesses);
    configureUnwinding(object, params);
  },
  perfEvent: (params: typeof defaults) => ({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, frequency: params.frequency }),
} satisfies CaptureSetup<typeof defaults>;
