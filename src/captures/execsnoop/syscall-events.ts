// execsnoop's exec events as Falco's execve exit events (evt.dir "<"):
// proc.* is the program after exec, the caller's comm is the parent's name.
import type { EventSource, SyscallEventInput } from '../../model/syscall-event.js';
import { eventsOf } from '../../analysis/common.js';
import { arr, mapEvents, num, processFields, str, timeMs } from '../syscall-events.js';

export const execsnoopEvents: EventSource = (data) =>
  mapEvents(eventsOf(data), (e): SyscallEventInput => {
    const argv = arr(e.argv).map(str);
    const res = num(e.retval);
    const filename = str(e.filename);
    return {
      type: 'execve',
      timeMs: timeMs(e.time),
      ...processFields(e),
      res,
      ...(res < 0 ? { errorName: str(e.error) || String(res) } : {}),
      exec: { filename, argv, ppid: num(e.ppid), pcomm: str(e.pcomm) },
      args: {
        res,
        exe: argv[0] ?? filename,
        args: argv.slice(1).join(' '),
        filename,
        pid: num(e.pid),
        ptid: num(e.ppid),
        comm: str(e.comm),
        uid: num(e.uid),
      },
    };
  });
