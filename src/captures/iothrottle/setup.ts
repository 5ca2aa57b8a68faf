// iothrottle's setup: no BPF object: it reads cgroups' I/O limits and counters (CaptureDefinition.sample).
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  maxCgroups: integer(1, 100_000, 4096, 'cgroups read, per window end; past it the rest are left out (truncated)'),
  maxProcesses: integer(1, 1000, 20, 'processes listed per cgroup; processCount has them all'),
};
const defaults = settingsDefaults(settings);

export const iothrottleSetup = {
  name: 'iothrottle',
  settings,
  bpfObject: false,
  defaults,
} satisfies CaptureSetup<typeof defaults>;
