// lockwait's setup: its wait threshold, table sizes and user-stack snapshots.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { configureStackTables, configureUnwinding } from '../stack-family/configure.js';

const defaults = {
  minWaitUs: 1,
  otherWaits: true,
  stackMapEntries: 16_384,
  maxStacks: 16_384,
  maxThreads: 16_384,
  maxProcesses: 8192,
  top: 20,
  userStackBytes: 8 * 1024,
  maxDepth: 256,
  snapshotBufferBytes: 8 * 1024 * 1024,
};

export const lockwaitSetup = {
  name: 'lockwait',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setRodata({ min_wait_ns: BigInt(params.minWaitUs) * 1000n, count_other_waits: params.otherWaits });
    configureStackTables(object, 'waits', params);
    object.setMaxEntries('starts', params.maxThreads);
    object.setMaxEntries('seen_tgids', params.maxProcesses);
    configureUnwinding(object, params);
  },
} satisfies CaptureSetup<typeof defaults>;
