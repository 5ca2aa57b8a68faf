// cputhrottle's setup: no BPF object: it reads cgroups' cpu.stat (CaptureDefinition.sample).
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { CaptureSetup } from '../capture.js';

const defaults = { maxCgroups: 4096, maxProcesses: 20 };

export const cputhrottleSetup = {
  name: 'cputhrottle',
  bpfObject: false,
  defaults,
} satisfies CaptureSetup<typeof defaults>;
