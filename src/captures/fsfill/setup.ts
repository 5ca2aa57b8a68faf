// fsfill's setup: no BPF object: it reads each filesystem's use with statfs
// (CaptureDefinition.sample).
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  intervalMs: integer(100, 10_000, 1000, 'how often every filesystem is read'),
  minGrowthMiB: integer(
    1,
    1_000_000,
    16,
    'a filesystem whose used bytes grew less than this over the window (and its inodes less than minGrowthInodes) is left out',
  ),
  minGrowthInodes: integer(
    1,
    1_000_000_000,
    1000,
    'a filesystem whose inodes in use grew less than this over the window (and its bytes less than minGrowthMiB) is left out',
  ),
  top: integer(1, 1000, 10, 'filesystems kept, the soonest full first'),
  nearlyFullPct: integer(0, 50, 5, 'a filesystem with less than this share of its bytes or inodes left is named as nearly full, growing or not (0: never)'),
};
const defaults = settingsDefaults(settings);

export const fsfillSetup = {
  name: 'fsfill',
  settings,
  bpfObject: false,
  defaults,
} satisfies CaptureSetup<typeof defaults>;
