// lockwait's setup: its wait threshold, table sizes and user-stack snapshots.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, integer, settingsDefaults } from '../settings.js';
import { stackTableSettings, unwindSettings } from '../stack-family/params.js';
import { configureStackTables, configureUnwinding } from '../stack-family/configure.js';

const settings = {
  minWaitUs: integer(0, 60_000_000, 1, 'shortest wait counted, in µs (shorter ones cost no stack)'),
  otherWaits: boolean(true, 'also count futex waits that are not a contended lock (condition variables, semaphores, idle pools)'),
  ...stackTableSettings('{process, stack, lock} rows', 'waits'),
  maxThreads: integer(1024, 1_048_576, 16_384, 'threads in a futex wait at once that can be timed; past it waits are dropped (map_full)'),
  maxProcesses: integer(256, 1_048_576, 8192, 'processes announced for symbolization while alive'),
  top: integer(1, 10_000, 20, 'locks in the table and stacks in the text'),
  ...unwindSettings({ userStackBytes: 8 * 1024, snapshotBufferBytes: 8 * 1024 * 1024 }),
};
const defaults = settingsDefaults(settings);

export const lockwaitSetup = {
  name: 'lockwait',
  settings,
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
