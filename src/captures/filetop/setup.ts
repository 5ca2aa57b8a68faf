// filetop's setup: how its object is sized.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  maxRows: integer(1, 1_000_000, 20, 'rows kept, the most bytes first'),
  maxFiles: integer(16, 1_000_000, 10_240, '(process, file) pairs counted in the kernel; more are dropped (map_full)'),
};
const defaults = settingsDefaults(settings);

export const filetopSetup = {
  name: 'filetop',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('files', params.maxFiles);
  },
} satisfies CaptureSetup<typeof defaults>;
