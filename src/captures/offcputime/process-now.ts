// Another process as it is now, read from /proc: its state and the kernel
// function it sleeps in. What a blocked thread waits on (a pipe's reader, a
// lock's holder) is named with it in a finding.
import { readdirSync, readlinkSync } from 'node:fs';
import { readText } from '../../util/read-text.js';
import { statFields } from '../../util/process-stat.js';

export interface ProcessNow {
  pid: number;
  /** The thread read, when one was asked for (a mutex's owner); else the process's main thread. */
  tid?: number;
  comm: string;
  /** Its state letter (/proc/PID/stat): R running, S sleeping, D uninterruptible, T stopped, t traced, Z zombie. */
  state: string;
  /** The kernel function it sleeps in (/proc/PID/wchan), when it sleeps. */
  waitingIn?: string;
}

/** The process (its main thread), or its thread `tid`. */
export function processNow(pid: number, tid?: number): ProcessNow | undefined {
  const dir = tid === undefined ? `/proc/${pid}` : `/proc/${pid}/task/${tid}`;
  const stat = readText(`${dir}/stat`);
  const m = stat && /^\d+ \((.*)\) (\S)/s.exec(stat);
  if (!m) return undefined;
  const wchan = readText(`${dir}/wchan`)?.trim();
  return { pid, ...(tid !== undefined ? { tid } : {}), comm: m[1]!, state: m[2]!, ...(wchan && wchan !== '0' ? { waitingIn: wchan } : {}) };
}

/** When the thread last went on a CPU (se.exec_start, ms on its CPU's scheduler clock), or undefined without CONFIG_SCHED_DEBUG. */
function lastRanMs(task: string): number | undefined {
  const ms = /^se\.exec_start\s*:\s*([\d.]+)/m.exec(readText(`${task}/sched`) ?? '')?.[1];
  return ms === undefined ? undefined : Number(ms);
}

/** The CPU the thread last ran on (its stat's field 39). */
function lastCpu(task: string): number | undefined {
  const cpu = Number(statFields(task)?.[36] ?? NaN);
  return Number.isInteger(cpu) ? cpu : undefined;
}

/**
 * The scheduler's clocks. A thread's last run is on the clock of the CPU it ran on, which leaves out that CPU's
 * steal and irq time, so CPUs drift apart (14 ms after 100 s up on a VM here; hundreds after hours on a busy host).
 * offcputime's BPF program keeps each CPU's offset to CLOCK_MONOTONIC (clock_offsets); a CPU without one is read
 * against this thread's own last run, as before: right when both ran on one CPU.
 */
export class SchedulerClock {
  /** offsetsNs[cpu]: CLOCK_MONOTONIC minus that CPU's scheduler clock, ns. */
  constructor(private readonly offsetsNs: ReadonlyArray<bigint | undefined> = []) {}

  /** How long the thread at `task` (/proc/PID/task/TID) has been off every CPU (ms), or undefined when the kernel does not say. */
  offCpuMs(task: string): number | undefined {
    const ran = lastRanMs(task);
    if (ran === undefined) return undefined;
    const cpu = lastCpu(task);
    const offset = cpu === undefined ? undefined : this.offsetsNs[cpu];
    if (offset !== undefined) return Number(process.hrtime.bigint() - offset) / 1e6 - ran;
    const now = lastRanMs('/proc/thread-self');
    return now === undefined ? undefined : now - ran;
  }
}

/**
 * The system calls pid's threads are blocked in now ("42 0x3 0x7f1cc7120990 0x14 ...": /proc/PID/task/TID/syscall,
 * its number then its arguments), of those whose kernel stack (or, unreadable without CAP_SYS_ADMIN, wait channel) matches `wait`.
 */
export function blockedCalls(pid: number, wait: RegExp): string[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => {
    const task = `/proc/${pid}/task/${tid}`;
    if (!wait.test(readText(`${task}/stack`) || readText(`${task}/wchan`) || '')) return [];
    const call = readText(`${task}/syscall`)?.trim();
    return call ? [call] : [];
  });
}

/** The descriptors pid's threads are blocked on now (blockedCalls): the call's first argument (write, send, flock, fcntl all take the fd first). */
export function blockedFds(pid: number, wait: RegExp): Set<number> {
  const fds = new Set<number>();
  for (const call of blockedCalls(pid, wait)) {
    const fd = Number(call.split(' ')[1]);
    if (Number.isInteger(fd)) fds.add(fd);
  }
  return fds;
}

/** pid's descriptors and what each points to (/proc/PID/fd/N's link), at most `limit`; none when it is gone. */
export function fdLinks(pid: number | string, limit = Infinity): { fd: number; link: string }[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return []; // gone, or not ours to read
  }
  return fds.slice(0, limit).flatMap((fd) => {
    try {
      return [{ fd: Number(fd), link: readlinkSync(`/proc/${pid}/fd/${fd}`) }];
    } catch {
      return []; // closed meanwhile
    }
  });
}
