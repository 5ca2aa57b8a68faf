// perf_event_open(2) through libc's syscall(), for perf-event BPF programs
// (CPU sampling). One event per CPU; fds are closed by the caller's link.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseCpuList } from '../util/cpu-list.js';
import { BpfError, NotSupportedError, PermissionError } from './errors.js';
import { lastErrno, lib } from './native.js';

const SYS_PERF_EVENT_OPEN: Partial<Record<NodeJS.Architecture, number>> = { x64: 298, arm64: 241 };
const PERF_ATTR_SIZE = 112; // PERF_ATTR_SIZE_VER5; the kernel accepts any known size
const PERF_FLAG_FD_CLOEXEC = 8;
const FLAG_DISABLED = 1n << 0n;
const FLAG_FREQ = 1n << 10n;

export const PERF_TYPE_HARDWARE = 0;
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_COUNT_SW_CPU_CLOCK = 0;

export interface PerfEventSpec {
  type: number;
  config: number;
  /** Samples per second (frequency mode) ... */
  frequency?: number;
  /** ... or one sample every `period` events. */
  period?: number;
}

/** Opens the event on one CPU for every process (pid -1); returns the fd. */
export function openPerfEvent(spec: PerfEventSpec, cpu: number): number {
  const nr = SYS_PERF_EVENT_OPEN[process.arch];
  if (nr === undefined) throw new NotSupportedError(`perf_event_open on ${process.arch}`);
  const attr = Buffer.alloc(PERF_ATTR_SIZE);
  attr.writeUInt32LE(spec.type, 0);
  attr.writeUInt32LE(PERF_ATTR_SIZE, 4);
  attr.writeBigUInt64LE(BigInt(spec.config), 8);
  attr.writeBigUInt64LE(BigInt(spec.frequency ?? spec.period ?? 1), 16);
  // Created disabled; libbpf enables it once the program is attached.
  attr.writeBigUInt64LE(FLAG_DISABLED | (spec.frequency ? FLAG_FREQ : 0n), 40);
  const fd = Number(lib().syscall(nr, 'void *', attr, 'int', -1, 'int', cpu, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC));
  if (fd >= 0) return fd;
  const errno = lastErrno();
  if (errno === constants.errno.EACCES || errno === constants.errno.EPERM) {
    throw new PermissionError('CAP_PERFMON', 'opening a perf event for every process');
  }
  if (errno === constants.errno.ENOENT || errno === constants.errno.EOPNOTSUPP || errno === constants.errno.ENODEV) {
    throw new NotSupportedError(`perf event type ${spec.type} config ${spec.config}`, 'is not supported by this kernel or CPU');
  }
  throw new BpfError(`perf_event_open on CPU ${cpu}`, errno);
}

/** CPUs that are online now, from /sys (e.g. "0-3,6"). */
export const onlineCpus = (): number[] => parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));

export function closeFd(fd: number): void {
  if (fd >= 0) lib().close(fd);
}
