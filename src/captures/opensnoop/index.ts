// opensnoop: every open/openat/openat2 inside the window, with its path,
// decoded flags, mode and the fd it returned or the errno it failed with.
import { MEMCG_ID } from '../../cgroups/process-cgroup.js';
import { errnoName } from '../../libbpf/index.js';
import { kernelClock } from '../../util/clock.js';
import { eventCollector, eventCount, eventFiles } from '../event-stream.js';
import type { SpooledEvents } from '../event-spool.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { AT_FDCWD, createsFile, decodeEvent, eventLayout, flagNames, HOW_PARTIAL, PATH_PARTIAL, type OpenRecord, type OpenSyscall } from './decode.js';
import { opensnoopEvents } from './syscall-events.js';
import { opensnoopAnalysis, openRecords } from './analyze.js';
import { opensnoopSetup } from './setup.js';

export type OpensnoopParams = typeof opensnoopSetup.defaults;

export interface OpenEvent {
  time: string;
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  syscall: OpenSyscall;
  path: string;
  /** The directory fd a relative path is resolved against; absent for AT_FDCWD. */
  dirfd?: number;
  flags: number;
  /** "O_RDONLY|O_CLOEXEC". */
  flagNames: string;
  /** Octal creation mode ("0644"), only when the open may create (O_CREAT/O_TMPFILE). */
  mode?: string;
  /** The new fd, when the open succeeded. */
  fd?: number;
  /** -errno when it failed; `error` names it. */
  retval: number;
  error?: string;
  cgroupId: string;
  /** For the container lookup only (not serialized): the memory controller's cgroup. */
  [MEMCG_ID]?: bigint;
  /** The path (or openat2's flags) could not be read in full. */
  partial?: boolean;
}

export interface OpensnoopData {
  /** All of them, or none when they were spooled (a worker's run): then eventSpool holds them. */
  events: OpenEvent[];
  eventSpool?: SpooledEvents<OpenEvent>;
}

export const opensnoop: CaptureDefinition<OpensnoopParams, OpensnoopData> = {
  ...opensnoopSetup,
  summary: 'file opens (open/openat/openat2): path, flags, mode, fd or errno',
  kind: 'events',
  analysis: opensnoopAnalysis,
  ruleEvents: { kind: 'open', records: openRecords, complete: true },
  syscallEvents: { types: ['open', 'openat', 'openat2'], events: opensnoopEvents, complete: true },

  records: [eventLayout],

  collect({ object, params, eventBudgetBytes, spool }) {
    const toWallMs = kernelClock();
    return eventCollector<OpenEvent>(
      object,
      'opensnoop',
      { maxEvents: params.maxEvents, ...(eventBudgetBytes !== undefined ? { memoryBytes: eventBudgetBytes } : {}), ...(spool ? { spool } : {}) },
      (data, keep) => {
        const record = decodeEvent(data);
        if (record) keep(toEvent(record, toWallMs));
      },
    );
  },

  table: ({ events, eventSpool }) => ({ columns, rows: eventSpool ? [...eventSpool] : events }),
  count: eventCount,
  files: eventFiles,
};

function toEvent(r: OpenRecord, toWallMs: (ns: bigint) => number): OpenEvent {
  const flags = Number(r.flags);
  return {
    time: new Date(toWallMs(r.tsNs)).toISOString(),
    pid: r.pid,
    tid: r.tid,
    uid: r.uid,
    comm: r.comm,
    syscall: r.syscall,
    path: r.path,
    ...(r.dirfd !== AT_FDCWD ? { dirfd: r.dirfd } : {}),
    flags,
    flagNames: flagNames(r.flags),
    ...(createsFile(r.flags) ? { mode: `0${(r.mode & 0o7777).toString(8)}` } : {}),
    ...(r.ret >= 0 ? { fd: r.ret } : { error: errnoName(r.ret) }),
    retval: r.ret,
    cgroupId: r.cgroupId.toString(),
    [MEMCG_ID]: r.memcgId,
    ...(r.recFlags & (PATH_PARTIAL | HOW_PARTIAL) ? { partial: true } : {}),
  };
}

const columns: Column<OpenEvent>[] = [
  { header: 'TIME', value: (e) => e.time.slice(11, 23) },
  { header: 'PID', value: (e) => String(e.pid), numeric: true },
  { header: 'COMM', value: (e) => e.comm },
  { header: 'UID', value: (e) => String(e.uid), numeric: true },
  { header: 'FD', value: (e) => (e.fd !== undefined ? String(e.fd) : '-'), numeric: true },
  { header: 'ERR', value: (e) => e.error ?? '' },
  { header: 'FLAGS', value: (e) => e.flagNames + (e.mode ? ` ${e.mode}` : '') },
  { header: 'PATH', value: (e) => (e.dirfd !== undefined && !e.path.startsWith('/') ? `[dirfd ${e.dirfd}] ` : '') + e.path + (e.partial ? ' ...' : '') },
];
