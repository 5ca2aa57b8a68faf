// dmesg's setup: no BPF object: it reads the kernel's log from /dev/kmsg (CaptureDefinition.sample).
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  lookbackSeconds: integer(
    0,
    7 * 24 * 3600,
    600,
    'seconds of kernel log before the window read too (what happened before Sherlock was called), as far back as the ring holds',
  ),
  maxEvents: integer(1, 100_000, 2000, 'kernel messages kept that Sherlock knows (crashes, OOM kills, disk errors, ...), the newest'),
};
const defaults = settingsDefaults(settings);

export const dmesgSetup = {
  name: 'dmesg',
  settings,
  bpfObject: false,
  defaults,
} satisfies CaptureSetup<typeof defaults>;
