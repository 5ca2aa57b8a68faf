// How a full pipe's readers read in a finding: who holds the read end, and
// why each is not reading (stopped, asleep in what, or on a CPU and slow).
import { isObj, num, objs, str, type Obj } from '../../analysis/common.js';
import { processLabel } from '../../format/index.js';

export interface PipeOfWriter {
  name: string;
  fd: number;
  readers: { pid: number; comm: string; state: string; waitingIn?: string }[];
}

/** The pipes pid waited on, from the capture's data (the blocked one first), or none when not read. */
export function pipesOf(data: Obj, pid: number): PipeOfWriter[] {
  const writer = objs(data.pipeWriters).find((w) => num(w.pid) === pid);
  return objs(writer?.pipes).map((p) => ({
    name: str(p.name),
    fd: num(p.fd),
    readers: objs(p.readers).map((r) => ({
      pid: num(r.pid),
      comm: str(r.comm),
      state: str(r.state),
      ...(isObj(r) && typeof r.waitingIn === 'string' ? { waitingIn: r.waitingIn } : {}),
    })),
  }));
}

/** What a reader was doing when the capture ended, after "it was". */
function doing(r: PipeOfWriter['readers'][number]): string {
  switch (r.state) {
    case 'T':
      return 'stopped (SIGSTOP or job control)';
    case 't':
      return 'stopped by a debugger or tracer';
    case 'R':
      return 'on a CPU (reading, more slowly than the pipe is written)';
    case 'Z':
      return 'exited (a zombie)';
    case 'D':
      return `in an uninterruptible wait in ${r.waitingIn ?? 'the kernel'}`;
    default:
      if (r.waitingIn && /pipe_read/.test(r.waitingIn)) return 'waiting for more to read (it had caught up)';
      return r.waitingIn ? `asleep in ${r.waitingIn}, not reading` : 'asleep, not reading';
  }
}

/** " (fd 1, pipe:[123])", or nothing when its pipes were not read. */
export const pipeLabel = (pipes: PipeOfWriter[]) => (pipes[0] ? ` (fd ${pipes[0].fd}, ${pipes[0].name})` : '');

/** "its reader log-shipper (pid 42) does not keep up (when the capture ended it was asleep in do_nanosleep, not reading)". */
export function pipeReadersText(pipes: PipeOfWriter[], writerPid: number): string {
  const pipe = pipes[0];
  if (!pipe) return 'its reader does not keep up';
  const others = pipe.readers.filter((r) => r.pid !== writerPid).slice(0, 3);
  const self = others.length < pipe.readers.length ? '; it holds a read end itself, which it never reads' : '';
  if (!others.length) return `no other process reads it${self}`;
  const readers =
    others.length === 1
      ? `its reader ${processLabel(others[0]!.comm, others[0]!.pid)} does not keep up (when the capture ended it was ${doing(others[0]!)})`
      : `its readers ${others.map((r) => `${processLabel(r.comm, r.pid)} (${doing(r)})`).join(', ')} do not keep up`;
  return readers + self;
}

/** The readers (not the writer itself): their own waits, upstreams, CPU quota and reclaim explain the writer's. */
export const readerPids = (pipes: PipeOfWriter[], writerPid: number) => [
  ...new Set(pipes.flatMap((p) => p.readers.map((r) => r.pid)).filter((pid) => pid !== writerPid)),
];
