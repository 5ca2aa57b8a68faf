// offcputime's data: its stacks weighted by time blocked, and what blocked
// threads waited on (looked up after the window, blockers.ts).
import type { StackSample } from '../../stacks/types.js';
import type { StackData } from '../stack-family/stack-capture.js';
import type { LockWait } from './file-locks.js';
import type { WrittenPipe } from './pipe-readers.js';
import type { BlockedSend } from './socket-peers.js';
import type { FrozenCgroup } from './frozen-cgroups.js';
import type { HeldMutex } from './mutex-owners.js';
import type { Tracer } from './tracers.js';
import type { PostgresBackends } from './postgres-backends.js';

export interface OffcpuStack extends StackSample {
  /** value: microseconds blocked; blocks: how many times. */
  blocks: number;
  /** Read from /proc after the window: a wait for the mutex at this address, held by another thread. */
  mutex?: string;
  /** Read from /proc after the window: frozen by its cgroup where it slept (an otherwise idle wait). */
  frozen?: boolean;
  /** A timed sleep's (params.minSleepUs or longer asked) or a futex wait's: the threads that waited in it, with their time in µs ([tid, µs], at most 1,024). */
  threads?: [tid: number, us: number][];
}

export interface OffcputimeData extends StackData<OffcpuStack> {
  /** The states counted (params.states). */
  states: string;
  /** Sum of blocks over every stack. */
  blocks: number;
  /** Stacks of threads blocked since before the window (not seen switching out in it), when any. */
  blockedThroughout?: number;
  /** Processes that waited writing into full pipes, with the pipes' readers (read at the end). */
  pipeWriters?: { pid: number; pipes: WrittenPipe[] }[];
  /** Processes that waited for file locks, with each lock's holder (/proc/locks, read every 250 ms). */
  lockWaiters?: { pid: number; locks: LockWait[] }[];
  /** Processes that waited to send on TCP connections, with each connection's peer (read at the end). */
  socketWriters?: { pid: number; sends: BlockedSend[] }[];
  /** Processes asleep in the freezer, with the cgroup that froze them (read at the end). */
  frozen?: { pid: number; by: FrozenCgroup }[];
  /** Processes whose threads waited for mutexes, with each mutex's owner and what it does (read at the end). */
  mutexWaiters?: { pid: number; mutexes: HeldMutex[] }[];
  /** PostgreSQL's backends seen idle in a transaction or waiting for a lock (titles read every 250 ms), when any waited for a lock. */
  postgresBackends?: PostgresBackends;
  /** Processes stopped for a tracer (ptrace), with the tracer (read at the end). */
  traced?: { pid: number; tracer: Tracer }[];
}
