// opensnoop's setup: its ring buffer's size, and the open calls this architecture has.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { settingsDefaults } from '../settings.js';
import { sizeRingBuffer, streamSettings } from '../stream-settings.js';

const settings = {
  ...streamSettings,
};
const defaults = settingsDefaults(settings);

export const opensnoopSetup = {
  name: 'opensnoop',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    sizeRingBuffer(object, params.ringBufferMiB);
    // open(2) exists on x86_64, not on arm64 and newer ports.
    for (const syscall of ['open', 'openat2']) {
      if (hasTracepoint('syscalls', `sys_enter_${syscall}`)) continue;
      object.setAutoload(`tp_enter_${syscall}`, false);
      object.setAutoload(`tp_exit_${syscall}`, false);
    }
  },
} satisfies CaptureSetup<typeof defaults>;
