// syscallerrors's setup: the architectures it has a syscall table for, and its table size.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint, NotSupportedError } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

const ARCHES = new Set(['x64', 'arm64']);

const settings = {
  maxRows: integer(1, 1_000_000, 500, 'rows kept, the most failures first'),
  maxKeys: integer(64, 1_000_000, 16_384, '(process, syscall, errno, path) rows counted in the kernel; more are dropped (map_full)'),
};
const defaults = settingsDefaults(settings);

export const syscallerrorsSetup = {
  name: 'syscallerrors',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    if (!ARCHES.has(process.arch)) throw new NotSupportedError(`syscallerrors on ${process.arch}`, 'has no syscall table (x86_64 and arm64 only)');
    if (!hasTracepoint('raw_syscalls', 'sys_exit'))
      throw new NotSupportedError('tracepoint raw_syscalls:sys_exit', 'is not available in this kernel (CONFIG_FTRACE_SYSCALLS)');
    object.setMaxEntries('errors', params.maxKeys);
    object.setRodata({ targ_exclude_tgid: process.pid });
  },
} satisfies CaptureSetup<typeof defaults>;
