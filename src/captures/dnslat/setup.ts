// dnslat's setup: the DNS port and its ring buffer's size.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint, NotSupportedError } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';
import { sizeRingBuffer } from '../stream-settings.js';

const settings = {
  dnsPort: integer(1, 65535, 53, 'the UDP port DNS servers answer on'),
  maxRows: integer(1, 100_000, 200, '(process, server, name, type) rows kept, the slowest first'),
  maxPending: integer(16, 1_000_000, 65_536, 'queries awaiting their answer at once; more are counted as dropped (event_cap)'),
  ringBufferMiB: integer(1, 64, 2, 'kernel ring buffer size, rounded up to a power of two'),
};
const defaults = settingsDefaults(settings);

export const dnslatSetup = {
  name: 'dnslat',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    for (const name of ['net_dev_queue', 'netif_receive_skb']) {
      if (!hasTracepoint('net', name))
        throw new NotSupportedError(`tracepoint net:${name}`, 'is not available in this kernel: DNS packets cannot be seen here');
    }
    object.setRodata({ targ_port: params.dnsPort });
    sizeRingBuffer(object, params.ringBufferMiB);
  },
} satisfies CaptureSetup<typeof defaults>;
