// iotop's setup: no BPF object: it reads /proc/PID/io, /proc/diskstats and /proc/vmstat (CaptureDefinition.sample).
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  maxProcesses: integer(1, 1_000_000, 65_536, 'processes read, per window end; past it the rest are left out (truncated)'),
  maxRows: integer(1, 10_000, 50, 'processes kept, most bytes first (processCount has them all)'),
  top: integer(1, 10_000, 10, 'processes printed in the text (the table and data have maxRows)'),
};
const defaults = settingsDefaults(settings);

export const iotopSetup = {
  name: 'iotop',
  settings,
  bpfObject: false,
  defaults,
} satisfies CaptureSetup<typeof defaults>;
