// signals's setup: its children follow, the signals it records and its ring buffer's size.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint, NotSupportedError } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, integer, type ListSetting, settingsDefaults } from '../settings.js';
import { signalNumber } from './decode.js';
import { sizeRingBuffer } from '../stream-settings.js';

/** Signals whose default action ends the process, minus the timer and user ones programs use for themselves; and the two that stop it. */
export const DEFAULT_SIGNALS = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGSEGV',
  'SIGPIPE',
  'SIGTERM',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGSYS',
  'SIGSTOP',
  'SIGTSTP',
];

const settings = {
  signals: {
    kind: 'list',
    item: signalNumber,
    rule: 'is not a signal (use names like SIGKILL or KILL, or numbers 1-63)',
    emptyRule: 'name at least one signal',
    default: () => DEFAULT_SIGNALS.map((s) => signalNumber(s)!),
    description: 'signals recorded when sent: names or numbers, a list or "SIGKILL,SIGTERM"; the fatal ones by default',
  } satisfies ListSetting<number>,
  allExits: boolean(false, 'record clean ends (status 0) too, not only count them'),
  maxEvents: integer(1, 1_000_000, 20_000, 'records kept; later ones are counted as dropped (event_cap)'),
  ringBufferMiB: integer(1, 64, 1, 'kernel ring buffer size, rounded up to a power of two'),
};
const defaults = settingsDefaults(settings);

export const signalsSetup = {
  name: 'signals',
  settings,
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
