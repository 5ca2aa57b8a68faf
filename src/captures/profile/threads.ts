// A process whose work is one thread's (an event loop, a single-threaded
// interpreter): on a CPU all the time, it can go no faster, and what it is
// asked to do queues for it however many CPUs the host has idle. Which
// thread does a process's work is read from /proc at the window's end: each
// thread's CPU time since it started (utime + stime), for the processes
// sampled most.
import { readdirSync } from 'node:fs';
import { readText } from '../../util/read-text.js';
import { parseStat } from '../../util/process-stat.js';
import type { StackSample } from '../../stacks/types.js';
import { isObj, num, str, type Obj } from '../../analysis/common.js';
import { fmtPct } from '../../format/index.js';

/** The processes looked at: those with the most samples, at least this many. */
const MAX_PROCESSES = 10;
const MIN_SAMPLES = 50;

export interface BusiestThread {
  tid: number;
  comm: string;
  /** Its share of the CPU time of the process's threads (those alive at the end), since they started. */
  share: number;
  threads: number;
}

/** A thread's name and CPU ticks (utime + stime), or undefined once it is gone. */
function threadCpu(pid: number, tid: string): { comm: string; ticks: number } | undefined {
  const stat = readText(`/proc/${pid}/task/${tid}/stat`);
  if (!stat) return undefined;
  const { comm, fields } = parseStat(stat);
  return { comm, ticks: Number(fields[11]) + Number(fields[12]) };
}

/** The busiest thread of each of the processes sampled most, by pid. */
export function busiestThreads(stacks: StackSample[]): { busiestThreads?: Record<string, BusiestThread> } {
  const samples = new Map<number, number>();
  for (const s of stacks) samples.set(s.pid, (samples.get(s.pid) ?? 0) + s.value);
  const out: Record<string, BusiestThread> = {};
  const sampledMost = [...samples].filter(([, n]) => n >= MIN_SAMPLES).sort((a, b) => b[1] - a[1]);
  for (const [pid] of sampledMost.slice(0, MAX_PROCESSES)) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    const threads = tids.flatMap((tid) => {
      const cpu = threadCpu(pid, tid);
      return cpu ? [{ tid: Number(tid), ...cpu }] : [];
    });
    const total = threads.reduce((n, t) => n + t.ticks, 0);
    const busiest = threads.sort((a, b) => b.ticks - a.ticks)[0];
    if (busiest && total > 0) out[pid] = { tid: busiest.tid, comm: busiest.comm, share: busiest.ticks / total, threads: threads.length };
  }
  return Object.keys(out).length ? { busiestThreads: out } : {};
}

/** On a CPU this much of the window, its work in one thread this much: that thread is at its capacity. */
const SATURATED_CPUS = 0.85;
const ONE_THREAD_SHARE = 0.9;

/** A sentence when one thread does nearly all of pid's work and it was on a CPU nearly all the window, else undefined. */
export function oneThreadText(data: Obj, pid: number, cpus: number): string | undefined {
  const t = isObj(data.busiestThreads) ? data.busiestThreads[String(pid)] : undefined;
  if (!isObj(t) || cpus < SATURATED_CPUS || num(t.share) < ONE_THREAD_SHARE) return undefined;
  const which =
    num(t.threads) > 1 ? `${str(t.comm)}, tid ${num(t.tid)}: ${fmtPct(num(t.share))} of its ${num(t.threads)} threads' CPU time` : `its only thread`;
  return (
    `one thread does its work (${which}): on a CPU all the window, it can go no faster, ` +
    `and what it is asked to do queues for it (less work per request, or more processes or threads to share it)`
  );
}
