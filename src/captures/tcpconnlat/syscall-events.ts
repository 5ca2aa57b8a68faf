// tcpconnlat's connects, for runs without tcplife (or connects tcplife did
// not see close): its slowest connects and failures name the process; a
// destination it only counted becomes one connect with no process (proc.*
// read as <NA>), at the window's start.
import { constants } from 'node:os';
import type { EventSource, SyscallEventInput } from '../../model/syscall-event.js';
import { endpoint, isObj, num, objs, str, timeMs } from '../syscall-events.js';

export const tcpconnlatEvents: EventSource = (data) => {
  const start = timeMs(data.startedAt);
  const out: SyscallEventInput[] = [];
  const named = new Set<string>();
  const connect = (source: string, destination: string, time: number, pid: number, comm: string, res: number, error?: string): SyscallEventInput => {
    const remote = endpoint(destination);
    const local = source ? endpoint(source) : { ip: remote.ip.includes(':') ? '::' : '0.0.0.0', port: 0 };
    return {
      type: 'connect',
      timeMs: time,
      pid,
      ...(pid ? { tid: pid, comm } : {}),
      res,
      ...(error ? { errorName: error } : {}),
      fd: { kind: 'socket', family: remote.ip.includes(':') ? 6 : 4, l4proto: 'tcp', local, remote, role: 'client' },
      args: { res: error ?? res, tuple: `${source || '?'}->${destination}` },
    };
  };
  for (const s of objs(data.slowest)) {
    named.add(str(s.destination));
    out.push(connect(str(s.source), str(s.destination), timeMs(s.time) || start, num(s.pid), str(s.comm), 0));
  }
  for (const f of objs(data.failures)) {
    named.add(str(f.destination));
    const errno = num(f.errno) || (constants.errno as Record<string, number>)[str(f.error)] || 0;
    out.push(connect('', str(f.destination), start, num(f.pid), str(f.comm), errno ? -errno : -1, str(f.error) || undefined));
  }
  for (const h of objs(data.histograms)) {
    const destination = str(isObj(h.labels) ? h.labels.destination : '');
    if (destination && !named.has(destination)) out.push(connect('', destination, start, 0, '', 0));
  }
  return out;
};
