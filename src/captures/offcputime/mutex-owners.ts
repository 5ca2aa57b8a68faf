// Who holds the mutex a blocked thread waits for. A thread asleep in a futex
// wait may be a parked pool thread (a condition variable) or a lock's waiter:
// its syscall's arguments (/proc/PID/task/TID/syscall) give the futex's
// address, the operation and the value it expected, and the process's memory
// at that address (/proc/PID/mem) is, for a glibc pthread mutex, the lock word
// and the owner's thread id (struct __pthread_mutex_s: __lock, __count,
// __owner). A PI mutex's word is its owner's tid. A wait whose owner is a
// live thread of the same process is a mutex wait; followed from owner to
// owner, a chain that comes back to a waiter is a deadlock. Threads are read
// one after another while they run on, so a busy lock can look like a cycle
// (a thread read as the owner is, a moment later, one of its waiters again):
// a deadlock's threads must also have been off the CPU for a while. A mutex
// that is a global or static is named by its symbol.
import { existsSync, readdirSync } from 'node:fs';
import { ProcessMemory } from '../../symbolize/process-memory.js';
import { variableAt } from '../../symbolize/variable-at.js';
import { readText } from '../../util/read-text.js';
import { processNow, type ProcessNow, type SchedulerClock } from './process-now.js';

/** The futex system call's number, by architecture (/proc/PID/task/TID/syscall gives numbers). */
const FUTEX_NR: Partial<Record<NodeJS.Architecture, number>> = { x64: 202, arm64: 98 };
const FUTEX_PRIVATE_FLAG = 128;
const FUTEX_CLOCK_REALTIME = 256;
const FUTEX_WAIT = 0;
const FUTEX_LOCK_PI = 6;
const FUTEX_WAIT_BITSET = 9;
const FUTEX_LOCK_PI2 = 13;
const FUTEX_TID_MASK = 0x3fffffff;
/** glibc's lll_lock_wait sleeps expecting 2: locked, with waiters. */
const LOCKED_WITH_WAITERS = 2;
/** Offset of __owner in glibc's struct __pthread_mutex_s (after int __lock and unsigned __count), the same on every 64-bit ABI. */
const OWNER_OFFSET = 8;
/** Links followed from a waiter to the owner at the end of its chain. */
const MAX_CHAIN = 16;
/** A deadlock's threads have not run for this long (a busy lock's waiters run every few milliseconds). */
const DEADLOCK_OFF_CPU_MS = 100;

export interface MutexWait {
  tid: number;
  /** The mutex's address in the process, hex. */
  address: string;
  /** The thread holding it. */
  owner: number;
  /** A priority-inheritance mutex (the kernel knows its owner too). */
  pi?: boolean;
}

/** The mutex `tid` of `pid` is blocked on now, with its owner; undefined when it is not waiting for a mutex (or it cannot be read). */
export function mutexWaitOf(pid: number, tid: number): MutexWait | undefined {
  const args = (readText(`/proc/${pid}/task/${tid}/syscall`) ?? '').trim().split(' ');
  if (Number(args[0]) !== FUTEX_NR[process.arch] || args.length < 4) return undefined;
  const [address, op, expected] = [Number(args[1]), Number(args[2]) & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME), Number(args[3])];
  const pi = op === FUTEX_LOCK_PI || op === FUTEX_LOCK_PI2;
  if (!pi && !((op === FUTEX_WAIT || op === FUTEX_WAIT_BITSET) && expected === LOCKED_WITH_WAITERS)) return undefined;
  const memory = new ProcessMemory(pid);
  const word = memory.read(BigInt(address), OWNER_OFFSET + 4);
  memory.close();
  if (!word) return undefined;
  const owner = pi ? word.readUInt32LE(0) & FUTEX_TID_MASK : word.readInt32LE(0) === LOCKED_WITH_WAITERS ? word.readInt32LE(OWNER_OFFSET) : 0;
  if (owner <= 0 || owner === tid || !existsSync(`/proc/${pid}/task/${owner}`)) return undefined; // a condition variable's word, or released since
  return { tid, address: `0x${address.toString(16)}`, owner, ...(pi ? { pi: true } : {}) };
}

/** Every thread of `pid` waiting for a mutex now (those asleep in a futex wait are read, at most `max`). */
export function mutexWaitsOf(pid: number, max = 4096): MutexWait[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).slice(0, max);
  } catch {
    return []; // gone
  }
  return tids.flatMap((tid) => {
    if (!/futex/.test(readText(`/proc/${pid}/task/${tid}/wchan`) ?? '')) return [];
    const wait = mutexWaitOf(pid, Number(tid));
    return wait ? [wait] : [];
  });
}

/** One mutex of a process that threads wait for, and what its owner does. */
export interface HeldMutex {
  address: string;
  /** The variable it is ("accounts+0x30"), when a symbol covers it (a global or static, not the heap). */
  variable?: string;
  /** The threads waiting for it now. */
  waiters: number[];
  /** Its thread now: name, state, wait channel (its tid set). */
  owner: ProcessNow;
  /** The mutex the owner waits for in turn, when it does. */
  ownerWaitsFor?: string;
  /** The owners' chain comes back to this mutex: from its owner on, each thread waits for a mutex the next one holds, the last for this one. */
  deadlock?: { tid: number; comm: string; waitsFor: string; waitsForVariable?: string }[];
  pi?: boolean;
}

/** The mutexes the threads of `pid` wait for now, most waiters first, each with its owner and the chain it ends. */
export function heldMutexes(pid: number, waits: MutexWait[], clock: SchedulerClock): HeldMutex[] {
  const byTid = new Map(waits.map((w) => [w.tid, w]));
  const variables = new Map<string, string | undefined>();
  const variableOf = (address: string) => {
    if (!variables.has(address)) variables.set(address, variableAt(pid, Number(address))?.name);
    return variables.get(address);
  };
  const byAddress = new Map<string, MutexWait[]>();
  for (const w of waits) byAddress.set(w.address, [...(byAddress.get(w.address) ?? []), w]);
  const held: HeldMutex[] = [];
  for (const [address, waiting] of byAddress) {
    const ownerTid = waiting[0]!.owner;
    const owner = processNow(pid, ownerTid) ?? { pid, tid: ownerTid, comm: '?', state: '?' };
    const next = byTid.get(ownerTid) ?? mutexWaitOf(pid, ownerTid);
    const variable = variableOf(address);
    held.push({
      address,
      ...(variable ? { variable } : {}),
      waiters: waiting.map((w) => w.tid),
      owner,
      ...(next ? { ownerWaitsFor: next.address } : {}),
      ...(cycleFrom(ownerTid, address, byTid, pid, variableOf, clock) ?? {}),
      ...(waiting[0]!.pi ? { pi: true } : {}),
    });
  }
  return held.sort((a, b) => b.waiters.length - a.waiters.length);
}

/** Owner to owner from `tid` (the owner of `address`): a deadlock when it comes back to `tid`, every thread on the way stuck. */
function cycleFrom(
  tid: number,
  address: string,
  byTid: Map<number, MutexWait>,
  pid: number,
  variableOf: (address: string) => string | undefined,
  clock: SchedulerClock,
): Pick<HeldMutex, 'deadlock'> | undefined {
  const chain: NonNullable<HeldMutex['deadlock']> = [];
  for (let at = tid; chain.length < MAX_CHAIN; ) {
    const wait = byTid.get(at) ?? mutexWaitOf(pid, at);
    if (!wait) return undefined;
    const variable = variableOf(wait.address);
    chain.push({ tid: at, comm: processNow(pid, at)?.comm ?? '?', waitsFor: wait.address, ...(variable ? { waitsForVariable: variable } : {}) });
    if (wait.address === address) return wait.owner === tid && chain.every((t) => stuck(pid, t.tid, clock)) ? { deadlock: chain } : undefined;
    if (chain.some((t) => t.tid === wait.owner)) return undefined; // a cycle that does not pass through this mutex: its own entry says it
    at = wait.owner;
  }
  return undefined;
}

/** Off the CPU long enough to be stuck, or the kernel cannot say (without CONFIG_SCHED_DEBUG the read cycle alone is the evidence). */
function stuck(pid: number, tid: number, clock: SchedulerClock): boolean {
  const ms = clock.offCpuMs(`/proc/${pid}/task/${tid}`);
  return ms === undefined || ms >= DEADLOCK_OFF_CPU_MS;
}
