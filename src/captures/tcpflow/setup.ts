// tcpflow's setup: how many connections it keeps and which it reports.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const settings = {
  maxFlows: integer(64, 1_000_000, 4096, 'connections kept in the kernel at once; past it the least recently active is forgotten'),
  minBytes: integer(
    0,
    1 << 30,
    64 * 1024,
    'connections that moved fewer bytes (sent plus received) in the window are left out, unless their round trips were timed 5 times or more',
  ),
  maxRows: integer(1, 100_000, 200, 'connections reported, the most bytes first'),
};
const defaults = settingsDefaults(settings);

export const tcpflowSetup = {
  name: 'tcpflow',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setMaxEntries('flows', params.maxFlows);
  },
} satisfies CaptureSetup<typeof defaults>;
