// tcpresponse's setup: what it records one by one, its table sizes, and the
// tracepoints it needs. What the warm pool needs to keep its object loaded
// (index.ts adds the rest).
import { type BpfObject, hasTracepoint, NotSupportedError } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, integer, settingsDefaults } from '../settings.js';
import { sizeRingBuffer } from '../stream-settings.js';

const settings = {
  recordMs: integer(1, 600_000, 50, 'answers this slow or slower are also kept one by one (the rest only in histograms)'),
  maxRows: integer(1, 100_000, 200, '(process, peer or port) rows kept, the most time spent waiting first'),
  maxSides: integer(16, 1_000_000, 4096, '(process, peer or port) histograms in the kernel; answers past it count as dropped (map_full)'),
  maxConnections: integer(16, 1_000_000, 16_384, 'connections followed at once; past it a connection is not timed (map_full)'),
  ringBufferMiB: integer(1, 64, 2, 'kernel ring buffer size, rounded up to a power of two'),
  unixSockets: boolean(true, 'follow unix stream sockets too (a local database, cache or FastCGI pool over a socket file)'),
};
const defaults = settingsDefaults(settings);

/** The tracepoints it hooks (raw): tcp_sendmsg_locked since 6.11, sk_data_ready since 6.7; tcp_probe for the ACKs that free writes Nagle held. */
const TRACEPOINTS = [
  ['tcp', 'tcp_sendmsg_locked'],
  ['tcp', 'tcp_probe'],
  ['sock', 'sk_data_ready'],
  ['tcp', 'tcp_destroy_sock'],
] as const;

export const tcpresponseSetup = {
  name: 'tcpresponse',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    for (const [category, name] of TRACEPOINTS) {
      if (!hasTracepoint(category, name))
        throw new NotSupportedError(
          `tracepoint ${category}:${name}`,
          'is not available in this kernel (6.11 or later has it): TCP answer times cannot be seen here',
        );
    }
    object.setRodata({ record_ns: BigInt(params.recordMs) * 1_000_000n });
    object.setMaxEntries('answers', params.maxSides);
    object.setMaxEntries('conns', params.maxConnections);
    sizeRingBuffer(object, params.ringBufferMiB);
    // Every socket's send passes it: left out unless unix sockets are followed.
    if (!params.unixSockets) object.setAutoload('raw_sock_send_length', false);
  },
} satisfies CaptureSetup<typeof defaults>;
