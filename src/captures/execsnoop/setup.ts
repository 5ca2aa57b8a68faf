// execsnoop's setup: its children follow, and its ring buffer's size.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { settingsDefaults } from '../settings.js';
import { sizeRingBuffer, streamSettings } from '../stream-settings.js';

const settings = {
  ...streamSettings,
};
const defaults = settingsDefaults(settings);

export const execsnoopSetup = {
  name: 'execsnoop',
  settings,
  bpfObject: true,
  defaults,
  followForks: true,
  configure(object: BpfObject, params: typeof defaults) {
    sizeRingBuffer(object, params.ringBufferMiB);
  },
} satisfies CaptureSetup<typeof defaults>;
