// signals' records as Falco's events. A signal a process sent (si_code
// SI_USER from kill(2), SI_TKILL from tgkill(2)) is that syscall's exit with
// its enter's arguments, as Falco gives it: evt.type kill or tgkill,
// proc.* the sender, evt.arg.pid the target, evt.arg.sig the signal's name.
// Every delivered signal is also Falco's signaldeliver (evt.dir ">", proc.*
// the target, evt.arg.spid the sender, 0 for the kernel), and a process end
// is procexit (evt.arg.status the wait status, ret the exit code, sig the
// signal that ended it, core 1 when it dumped core).
import type { EventSource, SyscallEventInput } from '../../model/syscall-event.js';
import { eventsOf } from '../../analysis/common.js';
import { mapEvents, num, str, timeMs, type Obj } from '../syscall-events.js';
import { signalNumber } from './decode.js';

export const SIGNAL_EVENT_TYPES = ['kill', 'tgkill', 'signaldeliver', 'procexit'] as const;

export const signalsEvents: EventSource = (data) => mapEvents(eventsOf(data), (e) => (e.kind === 'exit' ? procexit(e) : signal(e)));

function signal(e: Obj): SyscallEventInput[] {
  const at = timeMs(e.time);
  const sig = str(e.signal);
  const sender = num(e.pid);
  const out: SyscallEventInput[] = [];
  const sent = e.source === 'user' && sender > 0;
  if (sent) {
    const call = num(e.code) === -6 ? 'tgkill' : 'kill';
    out.push({
      type: call,
      timeMs: at,
      pid: sender,
      tid: num(e.tid) || sender,
      uid: num(e.uid),
      comm: str(e.comm),
      cgroupId: str(e.cgroupId) || undefined,
      res: 0,
      args: { res: 0, pid: num(e.targetPid), ...(call === 'tgkill' ? { tid: num(e.targetTid) } : {}), sig },
    });
  }
  if (e.result === 'delivered') {
    out.push({
      type: 'signaldeliver',
      dir: '>',
      timeMs: at,
      pid: num(e.targetPid),
      tid: num(e.targetTid) || num(e.targetPid),
      comm: str(e.targetComm),
      cgroupId: str(e.targetCgroupId) || undefined,
      res: 0,
      args: { spid: sent ? sender : 0, dpid: num(e.targetPid), sig },
    });
  }
  return out;
}

function procexit(e: Obj): SyscallEventInput {
  const pid = num(e.pid);
  const sig = str(e.signal);
  const signo = sig ? (signalNumber(sig) ?? 0) : 0;
  const code = num(e.exitCode);
  const core = e.coreDumped === true;
  return {
    type: 'procexit',
    dir: '>',
    timeMs: timeMs(e.time),
    pid,
    tid: pid,
    uid: num(e.uid),
    comm: str(e.comm),
    cgroupId: str(e.cgroupId) || undefined,
    res: 0,
    // The wait(2) status: the exit code in bits 8-15, else the signal, 0x80 for a core dump.
    args: { status: signo ? signo | (core ? 0x80 : 0) : (code & 0xff) << 8, ret: code, sig: sig || 0, core: core ? 1 : 0 },
  };
}
