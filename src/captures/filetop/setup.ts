// filetop's setup: how its object is sized.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';

const defaults = { maxRows: 20, maxFiles: 10_240 };

export const filetopSetup = {
  name: 'filetop',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('files', params.maxFiles);
  },
} satisfies CaptureSetup<typeof defaults>;
