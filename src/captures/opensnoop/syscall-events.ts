// opensnoop's opens as Falco's open/openat/openat2 exit events: fd.num is
// the fd returned or -1, fd.name the path as passed (made absolute against
// the process's cwd by the matcher when it is relative and the cwd is known).
import type { EventSource, SyscallEventInput } from '../../model/syscall-event.js';
import { eventsOf } from '../../analysis/common.js';
import { mapEvents, num, processFields, str, timeMs } from '../syscall-events.js';

export const opensnoopEvents: EventSource = (data) =>
  mapEvents(eventsOf(data), (e): SyscallEventInput => {
    const res = num(e.retval);
    const path = str(e.path);
    const flagNames = str(e.flagNames);
    const fd = res >= 0 ? (typeof e.fd === 'number' ? e.fd : res) : -1;
    return {
      type: str(e.syscall) || 'openat',
      timeMs: timeMs(e.time),
      ...processFields(e),
      res: res >= 0 ? fd : res,
      ...(res < 0 ? { errorName: str(e.error) || String(res) } : {}),
      fd: {
        kind: 'file',
        path,
        flags: num(e.flags),
        flagNames,
        num: fd,
        directory: /\bO_DIRECTORY\b/.test(flagNames),
        ...(e.mode ? { mode: str(e.mode) } : {}),
      },
      args: {
        fd,
        name: path,
        flags: flagNames,
        ...(e.mode ? { mode: str(e.mode) } : {}),
        ...(typeof e.dirfd === 'number' ? { dirfd: e.dirfd } : { dirfd: 'AT_FDCWD' }),
        res: res >= 0 ? fd : str(e.error) || res,
      },
    };
  });
