// signals's setup: its children follow, the signals it records and its ring buffer's size.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint, NotSupportedError } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { sizeRingBuffer } from '../ring-buffer-size.js';

const defaults = {
  // The fatal ones (index.ts's DEFAULT_SIGNALS) by number: SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGSEGV SIGPIPE SIGTERM SIGXCPU SIGXFSZ SIGSYS.
  signals: [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 24, 25, 31] as number[],
  allExits: false,
  maxEvents: 20_000,
  ringBufferMiB: 1,
};

export const signalsSetup = {
  name: 'signals',
  bpfObject: true,
  defaults,
  followForks: true,
  configure(object: BpfObject, params: typeof defaults) {
    for (const [category, name] of [
      ['signal', 'signal_generate'],
      ['sched', 'sched_process_exit'],
    ] as const) {
      if (!hasTracepoint(category, name))
        throw new NotSupportedError(`tracepoint ${category}:${name}`, 'is not available in this kernel: signals and process ends cannot be seen here');
    }
    const mask = params.signals.reduce((m, n) => m | (1n << BigInt(n)), 0n);
    object.setRodata({ targ_sigmask: mask, targ_all_exits: params.allExits });
    sizeRingBuffer(object, params.ringBufferMiB);
  },
} satisfies CaptureSetup<typeof defaults>;
