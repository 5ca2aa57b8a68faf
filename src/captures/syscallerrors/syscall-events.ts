// syscallerrors' rows as Falco's failing syscall events: one event per
// (process, syscall, errno, path) row, at its last failure, with evt.type the
// syscall, evt.res the errno name (evt.rawres -errno, evt.failed true) and,
// for a call about a path, the path under the argument name Falco's event
// table gives it (evt.arg.name for openat, .path for mkdir, .filename for
// chmod, ...); the open calls also fill fd.name, with fd.num -1; a call on an
// fd that pointed to a file (write, fsync, ...) fills fd.name and fd.num
// (sockets not: which end is the server is unknown here). A row is
// counted in the kernel, so a rule matches it once, whatever its count (the
// count is in the capture's result).
import { constants } from 'node:os';
import type { EventSource, SyscallEventInput } from '../../model/syscall-event.js';
import { objs, processFields, str, timeMs } from '../syscall-events.js';
import { PATH_ARGUMENT } from './file-calls.js';

/** Falco's name for the path argument, per syscall (libs' event table); a call missing here fills evt.arg.path. */
const FALCO_PATH_ARG: Record<string, string> = {
  open: 'name',
  creat: 'name',
  openat: 'name',
  openat2: 'name',
  access: 'name',
  unlinkat: 'name',
  umount2: 'name',
  execve: 'filename',
  execveat: 'pathname',
  chmod: 'filename',
  fchmodat: 'filename',
  fchownat: 'pathname',
  rename: 'oldpath',
  renameat: 'oldpath',
  renameat2: 'oldpath',
  link: 'oldpath',
  linkat: 'oldpath',
  symlink: 'linkpath',
  symlinkat: 'linkpath',
  mount: 'dir',
};

const OPENS = new Set(['open', 'creat', 'openat', 'openat2']);

const errnoNumber = (name: string): number => (constants.errno as Record<string, number>)[name] ?? (Number(/^errno (\d+)$/.exec(name)?.[1]) || 1);

/** The file a row's fd pointed to (fdTarget, looked up from /proc), as Falco's fd. */
function fileFd(r: Record<string, unknown>): Pick<SyscallEventInput, 'fd'> {
  const t = r.fdTarget as { kind?: unknown; name?: unknown } | undefined;
  if (typeof r.fd !== 'number' || t?.kind !== 'file' || typeof t.name !== 'string') return {};
  return { fd: { kind: 'file', path: t.name, num: r.fd, directory: false } };
}

/** Every syscall a row can name: rules on any evt.type may match it. */
export const syscallerrorsEvents: EventSource = (data) =>
  objs(data.rows).map((r): SyscallEventInput => {
    const syscall = str(r.syscall);
    const errno = str(r.errno);
    const res = -errnoNumber(errno);
    const path = typeof r.path === 'string' ? r.path : undefined;
    const pathArg = path !== undefined && PATH_ARGUMENT[syscall] !== undefined ? (FALCO_PATH_ARG[syscall] ?? 'path') : undefined;
    return {
      type: syscall,
      timeMs: timeMs(r.lastSeen),
      ...processFields(r),
      res,
      errorName: errno,
      ...(path !== undefined && OPENS.has(syscall) ? { fd: { kind: 'file' as const, path, num: -1, directory: false } } : fileFd(r)),
      args: { res: errno, ...(pathArg ? { [pathArg]: path! } : {}) },
    };
  });
