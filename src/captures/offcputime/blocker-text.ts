// How what a blocked thread waits on reads in a finding: a full pipe's readers,
// a file lock's holder, a TCP connection's peer, a mutex's owner thread, and
// why each is not letting it go on (stopped, asleep in what, on a CPU, or
// waiting in turn: a deadlock).
import { isObj, num, objs, str, type Obj } from '../../analysis/common.js';
import { fmtBytes, plural, processLabel } from '../../format/index.js';

interface Other {
  pid: number;
  comm: string;
  state: string;
  waitingIn?: string;
}

export interface PipeOfWriter {
  name: string;
  fd: number;
  readers: Other[];
}

export interface LockOfWaiter {
  type: string;
  mode: string;
  path?: string;
  file: string;
  holder?: Other;
}

export interface SendOfWriter {
  fd: number;
  local: string;
  remote: string;
  sendQueue: number;
  peer?: Other & { receiveQueue: number };
  /** A connect waiting to be accepted: its listener's accept queue, when its listener was found. */
  accept?: { queued?: number; backlog?: number };
}

const other = (r: Obj): Other => ({
  pid: num(r.pid),
  comm: str(r.comm),
  state: str(r.state),
  ...(typeof r.waitingIn === 'string' ? { waitingIn: r.waitingIn } : {}),
});

/** pid's entry in one of the data's lists by process (pipeWriters, lockWaiters, socketWriters). */
const entryOf = (list: unknown, pid: number) => objs(list).find((w) => num(w.pid) === pid);

/** The cgroup that froze pid, from the capture's data, or undefined when not read. */
export function frozenBy(data: Obj, pid: number): { cgroup: string; hierarchy: string; setting: string } | undefined {
  const by = entryOf(data.frozen, pid)?.by;
  return isObj(by) ? { cgroup: str(by.cgroup), hierarchy: str(by.hierarchy), setting: str(by.setting) } : undefined;
}

/** "cgroup /x froze it (v1 freezer.state FROZEN)", or what froze it in general when that was not read. */
export function frozenText(by: ReturnType<typeof frozenBy>): string {
  const what = by ? `cgroup ${by.cgroup} froze it (${by.hierarchy} ${by.setting})` : 'its cgroup froze it (freezer.state FROZEN in v1, cgroup.freeze 1 in v2)';
  return `${what}: it runs nothing until thawed; next: thaw it (freezer.state THAWED or cgroup.freeze 0; docker unpause, systemctl thaw) and find what froze it (a pause, a checkpoint, an orchestrator)`;
}

/** pid's tracer, from the capture's data, or undefined when not read. */
export function tracerOf(data: Obj, pid: number): (Other & { command: string }) | undefined {
  const tracer = entryOf(data.traced, pid)?.tracer;
  return isObj(tracer) ? { ...other(tracer), command: str(tracer.command) } : undefined;
}

/** "its tracer strace (pid 42: strace -f -p 7) stops it at ...; next: ...", or the same of a tracer not read. */
export function tracerText(tracer: ReturnType<typeof tracerOf>, pid: number): string {
  const stops = 'stops it at each system call or signal it traces, or holds it at a breakpoint';
  if (!tracer)
    return `a tracer ${stops} (ptrace: strace, ltrace, gdb); next: find it (TracerPid in /proc/${pid}/status) and detach it unless someone is debugging it now`;
  const name = `${tracer.comm || '?'} (pid ${tracer.pid}${tracer.command ? `: ${tracer.command}` : ''})`;
  return (
    `its tracer ${name} ${stops} (when the capture ended the tracer was ${doing(tracer)}); ` +
    `next: detach it (end ${tracer.comm || `pid ${tracer.pid}`}) unless someone is debugging it now`
  );
}

/** What a process stopped by a signal needs, and how to find who stopped it. */
export const stoppedText = (pid: number) =>
  `it runs nothing until it gets SIGCONT; next: resume it (kill -CONT ${pid}) and find who stopped it (a shell's job control, kill -STOP, a supervisor, a debugger)`;

/** The pipes pid waited on, from the capture's data (the blocked one first), or none when not read. */
export function pipesOf(data: Obj, pid: number): PipeOfWriter[] {
  return objs(entryOf(data.pipeWriters, pid)?.pipes).map((p) => ({ name: str(p.name), fd: num(p.fd), readers: objs(p.readers).map(other) }));
}

/** The file locks pid waited for, from the capture's data, or none when not read. */
export function locksOf(data: Obj, pid: number): LockOfWaiter[] {
  return objs(entryOf(data.lockWaiters, pid)?.locks).map((l) => ({
    type: str(l.type),
    mode: str(l.mode),
    file: str(l.file),
    ...(typeof l.path === 'string' ? { path: l.path } : {}),
    ...(isObj(l.holder) ? { holder: other(l.holder) } : {}),
  }));
}

/** The connections (TCP, unix) pid waited to send on, from the capture's data, or none when not read. */
export function sendsOf(data: Obj, pid: number): SendOfWriter[] {
  return objs(entryOf(data.socketWriters, pid)?.sends).map((c) => ({
    fd: num(c.fd),
    local: str(c.local),
    remote: str(c.remote),
    sendQueue: num(c.sendQueue),
    ...(isObj(c.peer) ? { peer: { ...other(c.peer), receiveQueue: num(c.peer.receiveQueue) } } : {}),
    ...(isObj(c.accept) ? { accept: typeof c.accept.backlog === 'number' ? { queued: num(c.accept.queued), backlog: num(c.accept.backlog) } : {} } : {}),
  }));
}

/** What another process was doing when the capture ended, after "it was". */
export function doing(r: Other, asleep = ''): string {
  switch (r.state) {
    case 'T':
      return 'stopped (SIGSTOP or job control)';
    case 't':
      return 'stopped by a debugger or tracer';
    case 'R':
      return 'on a CPU';
    case 'Z':
      return 'exited (a zombie)';
    case 'D':
      return `in an uninterruptible wait in ${r.waitingIn ?? 'the kernel'}`;
    default:
      return (r.waitingIn ? `asleep in ${r.waitingIn}` : 'asleep') + asleep;
  }
}

/** What a reader was doing: asleep elsewhere is not reading; asleep in a read had caught up. */
function reading(r: Other): string {
  if (r.state === 'R') return 'on a CPU (reading, more slowly than it is written to)';
  if (r.state === 'S' && r.waitingIn && /pipe_read|sk_wait_data|tcp_recvmsg/.test(r.waitingIn)) return 'waiting for more to read (it had caught up)';
  return doing(r, ', not reading');
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
      ? `its reader ${processLabel(others[0]!.comm, others[0]!.pid)} does not keep up (when the capture ended it was ${reading(others[0]!)})`
      : `its readers ${others.map((r) => `${processLabel(r.comm, r.pid)} (${reading(r)})`).join(', ')} do not keep up`;
  return readers + self;
}

const LOCK_TYPES: Record<string, string> = { FLOCK: 'flock', POSIX: 'fcntl/lockf', OFDLCK: 'open file description' };

/** " (flock, on /var/lib/app/lock)", or nothing when its locks were not read. */
export const lockLabel = (locks: LockOfWaiter[]) =>
  locks[0] ? ` (${LOCK_TYPES[locks[0].type] ?? locks[0].type}, on ${locks[0].path ?? `inode ${locks[0].file}`})` : '';

/** "held by backup (pid 42), exclusively (when the capture ended it was asleep in do_nanosleep)". */
export function lockHolderText(locks: LockOfWaiter[]): string {
  const lock = locks[0];
  if (!lock) return 'another process holds it';
  const how = lock.mode === 'READ' ? 'shared' : 'exclusively';
  if (!lock.holder) return `held ${how} by ${lock.type === 'OFDLCK' ? 'an open file description (OFD locks name no process)' : 'a process that has exited'}`;
  return `held ${how} by ${processLabel(lock.holder.comm, lock.holder.pid)} (when the capture ended it was ${doing(lock.holder)})`;
}

export interface MutexOfWaiter {
  address: string;
  variable?: string;
  waiters: number;
  owner: { tid: number; comm: string; state: string; waitingIn?: string };
  ownerWaitsFor?: string;
  deadlock?: { tid: number; comm: string; waitsFor: string; waitsForVariable?: string }[];
}

/** The mutexes pid's threads waited for at the end, most waiters first, or none when not read. */
export function mutexesOf(data: Obj, pid: number): MutexOfWaiter[] {
  return objs(entryOf(data.mutexWaiters, pid)?.mutexes).map((m) => {
    const owner = isObj(m.owner) ? m.owner : {};
    return {
      address: str(m.address),
      ...(typeof m.variable === 'string' ? { variable: m.variable } : {}),
      waiters: Array.isArray(m.waiters) ? m.waiters.length : 0,
      owner: {
        tid: num(owner.tid),
        comm: str(owner.comm),
        state: str(owner.state),
        ...(typeof owner.waitingIn === 'string' ? { waitingIn: owner.waitingIn } : {}),
      },
      ...(typeof m.ownerWaitsFor === 'string' ? { ownerWaitsFor: m.ownerWaitsFor } : {}),
      ...(Array.isArray(m.deadlock)
        ? {
            deadlock: objs(m.deadlock).map((t) => ({
              tid: num(t.tid),
              comm: str(t.comm),
              waitsFor: str(t.waitsFor),
              ...(typeof t.waitsForVariable === 'string' ? { waitsForVariable: t.waitsForVariable } : {}),
            })),
          }
        : {}),
    };
  });
}

const threadLabel = (t: { comm: string; tid: number }) => `${t.comm} (tid ${t.tid})`;
/** "accounts+0x30 (at 0x55d…0f0)", or "at 0x55d…0f0" for a mutex no symbol names (on the heap). */
const mutexLabel = (address: string, variable?: string) => (variable ? `${variable} (at ${address})` : `at ${address}`);

/**
 * "a deadlock: ledger-a (tid 7) waits for the mutex at 0x… that ledger-b (tid 8) holds, and ledger-b (tid 8) waits for
 * the mutex at 0x… that ledger-a (tid 7) holds: ...", or who holds the mutex and what it does meanwhile.
 */
export function mutexOwnerText(mutexes: MutexOfWaiter[]): string {
  const m = mutexes.find((x) => x.deadlock) ?? mutexes[0];
  if (!m) return 'another of its threads holds the lock';
  if (m.deadlock) {
    const chain = m.deadlock;
    const links = chain.map(
      (t, i) => `${threadLabel(t)} waits for the mutex ${mutexLabel(t.waitsFor, t.waitsForVariable)} that ${threadLabel(chain[(i + 1) % chain.length]!)} holds`,
    );
    return (
      `a deadlock: ${links.join(', and ')}: none of them can go on until the process is restarted` +
      `; next: take these mutexes in one order everywhere (a lock order inversion), then restart it`
    );
  }
  const waiting = `${m.waiters} of its threads wait for the mutex ${mutexLabel(m.address, m.variable)}, held by its thread ${threadLabel(m.owner)}`;
  if (m.ownerWaitsFor) return `${waiting}, itself waiting for the mutex at ${m.ownerWaitsFor}; next: find what holds that one`;
  if (m.owner.state === 'R') return `${waiting}, on a CPU when the capture ended: it holds the lock while it works; next: shorten what runs under that lock`;
  return `${waiting}, ${doing({ pid: m.owner.tid, ...m.owner })} while holding it; next: do not block (I/O, sleeps, calls to other services) while holding a lock`;
}

/** " (fd 4, its connection to 10.0.0.5:9092)", or nothing when its connections were not read. */
export const sendLabel = (sends: SendOfWriter[]) =>
  sends[0] ? ` (fd ${sends[0].fd}, its ${sends[0].accept ? 'connect' : 'connection'} to ${sends[0].remote})` : '';

/** "its peer consumer (pid 42) does not read fast enough (...)", or what is known of a peer elsewhere. */
export function sendPeerText(sends: SendOfWriter[]): string {
  const send = sends[0];
  if (!send) return 'the peer does not take the data as fast as it is sent';
  const { peer } = send;
  if (send.accept) {
    const { backlog, queued } = send.accept;
    const queue = backlog !== undefined ? `a backlog of ${backlog}, ${plural(queued ?? 0, 'connection')} waiting` : undefined;
    const told = [queue, peer && `when the capture ended it was ${doing(peer)}`].filter(Boolean).join('; ');
    return `its listener${peer ? ` ${processLabel(peer.comm, peer.pid)}` : ''} does not accept connections as fast as they come${told ? ` (${told})` : ''}`;
  }
  if (!peer && send.remote.startsWith('unix:')) return `its peer does not read fast enough (${fmtBytes(send.sendQueue)} queued when the capture ended)`;
  if (!peer)
    return `the peer does not take the data as fast as it is sent (${fmtBytes(send.sendQueue)} unacknowledged when the capture ended: a slow reader there, or a slow or lossy path)`;
  return `its peer ${processLabel(peer.comm, peer.pid)} does not read fast enough (${fmtBytes(peer.receiveQueue)} unread in its receive queue; when the capture ended it was ${reading(peer)})`;
}

/** The processes it waits on (not itself): their own waits, upstreams, CPU quota and reclaim explain its wait. */
export const blockerPids = (pipes: PipeOfWriter[], locks: LockOfWaiter[], sends: SendOfWriter[], waiterPid: number) => [
  ...new Set(
    [
      ...pipes.flatMap((p) => p.readers.map((r) => r.pid)),
      ...locks.flatMap((l) => (l.holder ? [l.holder.pid] : [])),
      ...sends.flatMap((c) => (c.peer ? [c.peer.pid] : [])),
    ].filter((pid) => pid !== waiterPid),
  ),
];
