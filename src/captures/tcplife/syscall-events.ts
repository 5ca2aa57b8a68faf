// tcplife's connections as the syscalls that made them: an active one as
// connect (at its start: close time minus duration), a passive one as
// accept. A connect that never completed carries its error (evt.res).
import type { EventSource, SyscallEventInput } from '../../model/syscall-event.js';
import { endpoint, num, objs, rawErrno, str, timeMs } from '../syscall-events.js';

export const tcplifeEvents: EventSource = (data) =>
  objs(data.events).flatMap((e): SyscallEventInput[] => {
    const local = endpoint(str(e.local));
    const remote = endpoint(str(e.remote));
    if (!local.port && !remote.port) return [];
    const active = e.direction === 'active';
    const failed = active && e.established === false;
    const error = str(e.error) || (failed ? 'ECONNREFUSED' : '');
    const res = failed ? rawErrno(error) : 0;
    const known = e.ownerKnown !== false && num(e.pid) > 0;
    const tuple = active ? `${str(e.local)}->${str(e.remote)}` : `${str(e.remote)}->${str(e.local)}`;
    return [
      {
        type: active ? 'connect' : 'accept',
        timeMs: timeMs(e.time) - num(e.durationMs),
        pid: known ? num(e.pid) : 0,
        ...(known ? { tid: num(e.tid) || num(e.pid), comm: str(e.comm) } : {}),
        cgroupId: str(e.cgroupId) || undefined,
        res,
        ...(res < 0 ? { errorName: error } : {}),
        fd: { kind: 'socket', family: num(e.ipVersion) === 6 ? 6 : 4, l4proto: 'tcp', local, remote, role: active ? 'client' : 'server' },
        args: { res: res < 0 ? error : res, tuple },
      },
    ];
  });
