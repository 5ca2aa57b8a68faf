// profile's setup: its perf event, table sizes and user-stack snapshots.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, integer, settingsDefaults } from '../settings.js';
import { stackTableSettings, unwindSettings } from '../stack-family/params.js';
import { configureStackTables, configureUnwinding } from '../stack-family/configure.js';

const settings = {
  frequency: integer(1, 10_000, 99, 'samples per second on each CPU'),
  includeIdle: boolean(false, 'sample the idle task (pid 0) too'),
  ...stackTableSettings('{process, thread name, stacks}', 'samples'),
  maxProcesses: integer(256, 1_048_576, 8192, 'processes announced for symbolization while alive; later ones are read at the end'),
  top: integer(1, 10_000, 20, 'rows in the table (stacks) and the text (functions); the data keeps every stack'),
  ...unwindSettings({ userStackBytes: 16 * 1024, snapshotBufferBytes: 16 * 1024 * 1024 }),
};
const defaults = settingsDefaults(settings);

export const profileSetup = {
  name: 'profile',
  settings,
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
