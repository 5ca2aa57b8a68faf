// syscallerrors: failing system calls per process, syscall, errno and (for
// file calls) path, counted in the kernel from the raw sys_exit tracepoint
// (bpf/syscallerrors/syscallerrors.bpf.c): successes cost one comparison.
// For calls on an fd the kernel keeps the fd, and user space names what it
// points to (fd-targets.ts), once a second while the capture runs and at its end;
// a process out of descriptors (EMFILE) gets a census of what it holds (fd-census.ts),
// one that cannot fork (EAGAIN) the limit it is at (process-limit.ts), one with no
// local port left to connect from (EADDRNOTAVAIL) its namespace's sockets (port-census.ts).
// A call given a unix socket's address (connect, bind, sendto) keeps the socket's
// name, and a connect refused there the listener with its accept queue (unix-sockets.ts).
import { kernelClock } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { eventIdentities } from '../../cgroups/process-cgroup.js';
import { decodeKey, decodeValue, keyRecord, MAX_NR, valueRecord } from './decode.js';
import { errnoText, isPortExhaustion, isProcessLimit, normalReason, refusedConnect, ROOM_ERRNOS } from './errnos.js';
import { unixListener, type UnixListener } from '../unix-sockets.js';
import { netnsOf } from '../../util/netns.js';
import { ADDRESS_ARGUMENT, argumentTable, FD_ARGUMENT, LOCK_CALLS, PATH_ARGUMENT, syscallNames } from './file-calls.js';
import { isLockBusy, LockHolders, type LockHolder } from './lock-holders.js';
import { portHolder, type PortHolder } from './port-holders.js';
import { absolutePath, FdTargets, type FdTarget, type Filesystem } from './fd-targets.js';
import { fdCensus, type FdCensus } from './fd-census.js';
import { processLimit, type ProcessLimit } from './process-limit.js';
import { portCensus, type PortCensus } from './port-census.js';
import { syscallerrorsAnalysis, syscallerrorsRuleEvents } from './analyze.js';
import { syscallerrorsBaseline } from './baseline.js';
import { syscallerrorsEvents } from './syscall-events.js';
import { syscallerrorsSetup } from './setup.js';

export type SyscallerrorsParams = typeof syscallerrorsSetup.defaults;

export interface SyscallErrorRow {
  pid: number;
  comm: string;
  uid: number;
  cgroupId: string;
  cgroup?: string;
  container?: string;
  syscall: string;
  nr: number;
  errno: string;
  /** File calls only: the path the call was given (cut at 127 bytes). */
  path?: string;
  /** connect, bind, sendto given a unix socket's address: its name ("/run/app.sock", "@abstract"). */
  unixSocket?: string;
  /** connect to a unix socket that refused it (EAGAIN: its accept queue full; ECONNREFUSED): its listener, read at the first failure. */
  listener?: UnixListener;
  /** fd calls only (read, write, sendto, ...; not for routine errnos like EAGAIN, but for lock calls): the fd the call was given. */
  fd?: number;
  /** What that fd pointed to, looked up from /proc soon after the failure (not the call's argument). */
  fdTarget?: FdTarget;
  /** ENOSPC or EDQUOT from a call with a path (creating a file, a directory): the filesystem holding it, and its room. */
  filesystem?: Filesystem;
  /** EMFILE only: what the process held when it was first seen out of descriptors. */
  fdCensus?: FdCensus;
  /** EAGAIN from fork or clone only: the limit the process was at when first seen failing. */
  processLimit?: ProcessLimit;
  /** EADDRNOTAVAIL from connect only: the TCP sockets of its network namespace then. */
  portCensus?: PortCensus;
  /** The inet address a bind or connect asked for, at the row's first failure. */
  asked?: string;
  /** bind refused with EADDRINUSE: who listens on that port, looked up soon after the first failure. */
  portHolder?: PortHolder;
  /** A lock call that found the lock held (fcntl, flock: EAGAIN): who held it, from /proc/locks while the capture ran. */
  lockHolder?: LockHolder;
  count: number;
  perSecond: number;
  /** Time between failures under 1 s apart (a loop retrying the call), when there was any. */
  retryMs?: number;
  /** Why this is normal behaviour, when it is (EAGAIN, a PATH search, a probe). */
  normal?: string;
  firstSeen: string;
  lastSeen: string;
  /** The thread that failed last. */
  tid: number;
  /** Processes whose same failure is counted in this row (beyond the rows kept per failure). */
  otherProcesses?: number;
}

export interface SyscallerrorsData {
  rows: SyscallErrorRow[];
  /** Over every row counted, not only those kept. */
  failures: number;
  normalFailures: number;
  totalRows: number;
}

/** How often new fds are looked up while the capture runs. */
const FD_LOOKUP_MS = 1000;

export const syscallerrors: CaptureDefinition<SyscallerrorsParams, SyscallerrorsData> = {
  ...syscallerrorsSetup,
  summary: 'failing system calls per process, syscall, errno and path, counted in the kernel',
  kind: 'counters',
  records: [keyRecord, valueRecord],
  analysis: syscallerrorsAnalysis,
  baseline: syscallerrorsBaseline,
  ruleEvents: syscallerrorsRuleEvents,
  // Any syscall can fail: every name of this architecture (a summary, giving way to opensnoop's opens).
  syscallEvents: { types: Object.values(syscallNames()), events: syscallerrorsEvents, failuresOnly: true },

  collect({ object, params }) {
    for (const [map, table] of [
      ['path_args', argumentTable(PATH_ARGUMENT, MAX_NR)],
      ['fd_args', argumentTable(FD_ARGUMENT, MAX_NR, process.arch, LOCK_CALLS)],
      ['address_args', argumentTable(ADDRESS_ARGUMENT, MAX_NR)],
    ] as const) {
      const args = object.map(map);
      for (const [nr, arg] of table) {
        const key = Buffer.alloc(4);
        key.writeUInt32LE(nr);
        args.update(key, Buffer.from([arg]));
      }
    }
    const toWallMs = kernelClock();
    const startMs = Date.now();
    const targets = new FdTargets();
    // Read once per process and resource, at its first failure: it is at the limit then.
    const resources = new Map<string, ResourceRead>();
    const resourceAt = (tgid: number, syscall: string, errno: string): ResourceRead => {
      const resource = resourceOf(syscall, errno);
      if (!resource) return {};
      const key = `${resource.field}:${tgid}`;
      let read = resources.get(key);
      if (!read) {
        const value = resource.read(tgid);
        resources.set(key, (read = value ? { [resource.field]: value } : {}));
      }
      return read;
    };
    // A unix socket a connect failed on: its listener, read once per network namespace and socket, at the first failure.
    const listeners = new Map<string, UnixListener | undefined>();
    const listenerOf = (tgid: number, syscall: string, errno: string, unixSocket: string | undefined): Pick<SyscallErrorRow, 'listener'> => {
      if (!unixSocket || !refusedConnect(syscall, errno)) return {};
      const key = `${netnsOf(tgid)}:${unixSocket}`;
      if (!listeners.has(key)) listeners.set(key, unixListener(tgid, unixSocket));
      const listener = listeners.get(key);
      return listener ? { listener } : {};
    };
    // A path that found no room: its filesystem, read once per process and path while the process is there.
    const rooms = new Map<string, Filesystem | undefined>();
    const roomOf = (tgid: number, path: string | undefined, errno: string): Pick<SyscallErrorRow, 'filesystem'> => {
      if (!path || !ROOM_ERRNOS.has(errno)) return {};
      const key = `${tgid}:${path}`;
      if (!rooms.has(key)) rooms.set(key, targets.roomAt(tgid, absolutePath(tgid, path)));
      const filesystem = rooms.get(key);
      return filesystem ? { filesystem } : {};
    };
    // A lock taken without waiting and found held: its holder, read while the capture runs.
    const locks = new LockHolders();
    // A port a bind found taken: who listens there, once per process and address.
    const holders = new Map<string, PortHolder | undefined>();
    const holderOf = (tgid: number, syscall: string, errno: string, asked: string | undefined): Pick<SyscallErrorRow, 'portHolder'> => {
      if (syscall !== 'bind' || errno !== 'EADDRINUSE' || !asked) return {};
      const key = `${tgid}:${asked}`;
      if (!holders.has(key)) holders.set(key, portHolder(tgid, asked));
      const holder = holders.get(key);
      return holder ? { portHolder: holder } : {};
    };
    const errors = object.map('errors');
    const names = syscallNames();
    // New rows, while their process and fd are most likely still there: what the fd is, what limit the process is at.
    const readNewRows = () => {
      for (const [k, v] of errors.entries()) {
        const key = decodeKey(k);
        const errno = errnoText(key.errno);
        if (key.fd !== undefined && !targets.has(key.tgid, key.fd)) targets.resolve(key.tgid, key.fd, decodeValue(v).socket, errno);
        const syscall = names[key.nr] ?? '';
        resourceAt(key.tgid, syscall, errno);
        if (key.fd !== undefined && isLockBusy(syscall, errno)) locks.watch(key.tgid, key.fd);
        if (syscall === 'bind' && errno === 'EADDRINUSE') holderOf(key.tgid, syscall, errno, decodeValue(v).asked);
        if (isAddressCall(syscall)) listenerOf(key.tgid, syscall, errno, key.path);
        else roomOf(key.tgid, key.path, errno);
      }
    };
    let lastNamed = Date.now();
    return {
      poll: () => {
        locks.poll();
        if (Date.now() - lastNamed < FD_LOOKUP_MS) return;
        lastNamed = Date.now();
        readNewRows();
      },
      windowEnded: readNewRows,
      finish: () => {
        const windowSeconds = Math.max((Date.now() - startMs) / 1000, 1e-3);
        const rows: SyscallErrorRow[] = [];
        for (const [k, v] of object.map('errors').entries()) {
          const key = decodeKey(k);
          const value = decodeValue(v);
          const syscall = names[key.nr] ?? `syscall_${key.nr}`;
          const errno = errnoText(key.errno);
          const unixSocket = isAddressCall(syscall) ? key.path || undefined : undefined;
          const path = unixSocket ? undefined : key.path || undefined;
          const normal = normalReason(syscall, errno, path, unixSocket);
          const lockHolder = key.fd !== undefined && isLockBusy(syscall, errno) ? locks.holderOf(key.tgid, key.fd) : undefined;
          rows.push({
            pid: key.tgid,
            comm: value.comm,
            uid: value.uid,
            cgroupId: value.cgroupId.toString(),
            syscall,
            nr: key.nr,
            errno,
            ...(path ? { path } : {}),
            ...(unixSocket ? { unixSocket, ...listenerOf(key.tgid, syscall, errno, unixSocket) } : {}),
            ...(key.fd !== undefined ? { fd: key.fd, fdTarget: targets.resolve(key.tgid, key.fd, value.socket, errno) } : {}),
            ...resourceAt(key.tgid, syscall, errno),
            ...roomOf(key.tgid, path, errno),
            ...(lockHolder ? { lockHolder } : {}),
            ...(value.asked ? { asked: value.asked, ...holderOf(key.tgid, syscall, errno, value.asked) } : {}),
            count: value.count,
            perSecond: value.count / windowSeconds,
            ...(value.retryNs > 0n ? { retryMs: Math.round(Number(value.retryNs) / 1e4) / 100 } : {}),
            ...(normal ? { normal } : {}),
            firstSeen: new Date(toWallMs(value.firstNs)).toISOString(),
            lastSeen: new Date(toWallMs(value.lastNs)).toISOString(),
            tid: value.tid,
          });
        }
        targets.addDeletedOpen();
        const failures = rows.reduce((a, r) => a + r.count, 0);
        const normalFailures = rows.filter((r) => r.normal).reduce((a, r) => a + r.count, 0);
        const kept = withCgroupPaths(rowsToKeep(rows, params.maxRows));
        return { rows: kept, failures, normalFailures, totalRows: rows.length };
      },
    };
  },

  table: ({ rows }) => ({ columns, rows }),
  count: ({ rows }) => rows.length,
};

const isAddressCall = (syscall: string) => ADDRESS_ARGUMENT[syscall] !== undefined;

type ResourceRead = Pick<SyscallErrorRow, 'fdCensus' | 'processLimit' | 'portCensus'>;

/** The resource a failure says ran out, the row field for it and how to read what the process is up against. */
function resourceOf(syscall: string, errno: string): { field: keyof ResourceRead; read: (pid: number) => unknown } | undefined {
  if (errno === 'EMFILE') return { field: 'fdCensus', read: fdCensus };
  if (isProcessLimit(syscall, errno)) return { field: 'processLimit', read: processLimit };
  if (isPortExhaustion(syscall, errno)) return { field: 'portCensus', read: portCensus };
  return undefined;
}

/** Rows of one failure (program, call, errno, path) kept apart; the rest are folded into the last one's count. */
const MAX_ROWS_PER_FAILURE = 50;

/**
 * The rows worth keeping: failures that are not normal behaviour first, then
 * by how often the failure happened over all processes (a service restarted
 * in a loop fails once per process: one row each, many rows), then per row.
 */
export function rowsToKeep(rows: SyscallErrorRow[], maxRows: number): SyscallErrorRow[] {
  // One file's rows together; sockets by peer (a server's connections to one peer are one failure).
  const failureOf = (r: SyscallErrorRow) => [r.comm, r.nr, r.errno, r.path ?? r.unixSocket ?? '', r.fdTarget?.name ?? ''].join('\0');
  const byFailure = new Map<string, SyscallErrorRow[]>();
  for (const r of rows) {
    const key = failureOf(r);
    const group = byFailure.get(key);
    if (group) group.push(r);
    else byFailure.set(key, [r]);
  }
  const total = (group: SyscallErrorRow[]) => group.reduce((n, r) => n + r.count, 0);
  const groups = [...byFailure.values()].sort((a, b) => Number(!!a[0]!.normal) - Number(!!b[0]!.normal) || total(b) - total(a));
  const kept: SyscallErrorRow[] = [];
  for (const group of groups) {
    group.sort((a, b) => b.count - a.count || a.pid - b.pid);
    const head = group.slice(0, MAX_ROWS_PER_FAILURE).map((r) => ({ ...r }));
    const rest = group.slice(MAX_ROWS_PER_FAILURE);
    if (rest.length) {
      const last = head.at(-1)!;
      last.perSecond *= (last.count + total(rest)) / last.count;
      last.count += total(rest);
      last.otherProcesses = rest.length;
    }
    kept.push(...head);
    if (kept.length >= maxRows) break;
  }
  return kept.slice(0, maxRows);
}

/** Each row's cgroup and container: by cgroup v2 id, else from /proc while the process runs. */
function withCgroupPaths(rows: SyscallErrorRow[]): SyscallErrorRow[] {
  const identityOf = eventIdentities();
  for (const r of rows) {
    const identity = identityOf({ pid: r.pid, cgroupId: r.cgroupId });
    if (!identity) continue;
    r.cgroup = identity.cgroup;
    r.container = identity.containerId;
  }
  return rows;
}

const columns: Column<SyscallErrorRow>[] = [
  { header: 'PID', value: (r) => String(r.pid), numeric: true },
  { header: 'COMM', value: (r) => r.comm || '-' },
  { header: 'SYSCALL', value: (r) => r.syscall },
  { header: 'ERRNO', value: (r) => r.errno },
  { header: 'COUNT', value: (r) => String(r.count), numeric: true },
  { header: 'RATE', value: (r) => `${+r.perSecond.toFixed(r.perSecond >= 10 ? 0 : 1)}/s`, numeric: true },
  {
    header: 'PATH/FD',
    value: (r) => r.path ?? (r.unixSocket ? `unix:${r.unixSocket}` : r.fd !== undefined ? `${r.fdTarget?.name ?? '?'} (fd ${r.fd})` : '-'),
  },
  { header: 'NORMAL', value: (r) => (r.normal ? 'yes' : '') },
];
