// lockwait's data: the stacks-kind shape (flame graph of wait time) plus a
// row per lock (futex word) per process.
import type { StackSample } from '../../stacks/types.js';
import type { StackData } from '../profile/stack-capture.js';
import type { WaitKind } from './decode.js';

export interface LockWaitStack extends StackSample {
  /** value: microseconds waited on `lock` from this stack. */
  waits: number;
  maxUs: number;
  /** The futex word's address in the process, hex. */
  lock: string;
  /** mutex: a contended lock; other: a condition variable, semaphore or idle wait. */
  kind: WaitKind;
}

export interface LockWaitLock {
  pid: number;
  comm: string;
  lock: string;
  kind: WaitKind;
  totalUs: number;
  waits: number;
  maxUs: number;
  /** Distinct waiting stacks. */
  stacks: number;
}

export interface LockwaitData extends StackData<LockWaitStack> {
  /** Heaviest first. */
  locks: LockWaitLock[];
  waits: number;
  /** Time waited on contended locks (kind mutex), summed over threads. */
  mutexUs: number;
}
