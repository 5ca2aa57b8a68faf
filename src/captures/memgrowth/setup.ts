// memgrowth's setup: no BPF object: it samples every process's memory from
// /proc (CaptureDefinition.sample).
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  intervalMs: integer(100, 10_000, 250, 'how often the memory of processes holding 8 MiB or more is read (every process: once a second)'),
  minGrowthMiB: integer(1, 1_000_000, 32, 'a process whose memory grew less than this over the window is left out'),
  top: integer(1, 1000, 10, 'processes kept, the fastest growing first'),
};
const defaults = settingsDefaults(settings);

export const memgrowthSetup = {
  name: 'memgrowth',
  settings,
  bpfObject: false,
  defaults,
} satisfies CaptureSetup<typeof defaults>;
