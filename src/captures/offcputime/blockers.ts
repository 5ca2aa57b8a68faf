// What a blocked thread waited on, looked up after the window for the
// processes that waited longest: a full pipe's readers (pipe-readers.ts), a
// file lock's holder (file-locks.ts, sampled while the capture ran), a TCP or
// unix connection's peer (socket-peers.ts), a frozen process's cgroup
// (frozen-cgroups.ts), a mutex's owner thread (mutex-owners.ts), a traced
// process's tracer (tracers.ts), PostgreSQL's transactions left open and
// backends waiting for locks (postgres-backends.ts, sampled while the capture
// ran). The analysis names them (blocker-text.ts, database-waits.ts).
import type { OffcpuStack, OffcputimeData } from './data.js';
import { waitName } from './scheduler.js';
import type { LockWaitSampler } from './file-locks.js';
import type { PostgresBackendSampler } from './postgres-backends.js';
import { writtenPipes } from './pipe-readers.js';
import { blockedSends } from './socket-peers.js';
import { FILE_LOCK_WAIT, FROZEN_WAIT, FUTEX, LOCK_CALLERS, PIPE_WRITE, SOCKET_SEND_WAIT, TRACED_WAIT } from './waits.js';
import { heldMutexes, mutexWaitsOf } from './mutex-owners.js';
import type { SchedulerClock } from './process-now.js';
import { frozenCgroupOf } from './frozen-cgroups.js';
import { tracerNow } from './tracers.js';
import { databaseWaitOf } from './database-waits.js';

/** A process that waited this long on full pipes, file locks or socket sends gets what it waited on looked up. */
const BLOCKED_US = 100_000;
const MAX_BLOCKED = 5;

/** The processes that waited longest in `wait` (at least BLOCKED_US), longest first: the wait named as the analysis names it. */
function waitedIn(data: OffcputimeData, wait: RegExp | ((s: OffcpuStack) => boolean)): number[] {
  const waited = new Map<number, number>();
  const test = wait instanceof RegExp ? (s: OffcpuStack) => wait.test(waitName(s.frames) ?? '') : wait;
  for (const s of data.stacks) if (test(s)) waited.set(s.pid, (waited.get(s.pid) ?? 0) + s.value);
  return [...waited]
    .filter(([, us]) => us >= BLOCKED_US)
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_BLOCKED)
    .map(([pid]) => pid);
}

/** A futex wait of a mutex (read from /proc, or a lock's user frame), not of a parked pool. */
const isMutexWait = (s: OffcpuStack) =>
  FUTEX.test(waitName(s.frames) ?? '') && (s.mutex !== undefined || s.frames.some((f) => f.kind !== 'kernel' && LOCK_CALLERS.test(f.name)));
/** In the freezer's wait, or frozen where it slept. */
const isFrozen = (s: OffcpuStack) => s.frozen === true || FROZEN_WAIT.test(waitName(s.frames) ?? '');

/** What its blocked writers and lockers waited on: the pipes' readers, the locks' holders, the connections' peers, the mutexes' owners; who froze the frozen, who traces the traced. */
export function withBlockers(data: OffcputimeData, locks: LockWaitSampler, clock: SchedulerClock, backends: PostgresBackendSampler): OffcputimeData {
  const pipeWriters = waitedIn(data, PIPE_WRITE)
    .map((pid) => ({ pid, pipes: writtenPipes(pid) }))
    .filter((w) => w.pipes.length);
  const lockWaiters = waitedIn(data, FILE_LOCK_WAIT)
    .map((pid) => ({ pid, locks: locks.waitsOf(pid) }))
    .filter((w) => w.locks.length);
  const socketWriters = waitedIn(data, SOCKET_SEND_WAIT)
    .map((pid) => ({ pid, sends: blockedSends(pid) }))
    .filter((w) => w.sends.length);
  const frozen = waitedIn(data, isFrozen).flatMap((pid) => {
    const by = frozenCgroupOf(pid);
    return by ? [{ pid, by }] : [];
  });
  const traced = waitedIn(data, TRACED_WAIT).flatMap((pid) => {
    const tracer = tracerNow(pid);
    return tracer ? [{ pid, tracer }] : [];
  });
  const mutexWaiters = waitedIn(data, isMutexWait).flatMap((pid) => {
    const mutexes = heldMutexes(pid, mutexWaitsOf(pid), clock);
    return mutexes.length ? [{ pid, mutexes }] : [];
  });
  const postgresBackends = backends.result(data.stacks.some((s) => databaseWaitOf(s.frames)));
  return {
    ...data,
    ...(postgresBackends ? { postgresBackends } : {}),
    ...(frozen.length ? { frozen } : {}),
    ...(mutexWaiters.length ? { mutexWaiters } : {}),
    ...(traced.length ? { traced } : {}),
    ...(pipeWriters.length ? { pipeWriters } : {}),
    ...(lockWaiters.length ? { lockWaiters } : {}),
    ...(socketWriters.length ? { socketWriters } : {}),
  };
}
