// Threads that slept in timed sleeps (nanosleep, clock_nanosleep asked for
// minSleepUs or more), from the kernel's "sleepers" map: which threads of a
// process slept, so that a sleep is told apart as one inside its slow answers
// (the threads that answered them) or a poller's beside them.
import { recordLayout } from '../records.js';

/** struct offcpu_sleeper (bpf/offcputime/offcputime.h); its value is a struct offcpu_value. */
export const sleeperLayout = recordLayout('offcpu_sleeper', 8, { tgid: 0, tid: 4 });

export interface Sleeper {
  pid: number;
  tid: number;
  /** Time asleep, summed, and how many sleeps. */
  ms: number;
  sleeps: number;
}

/** Threads kept, the longest sleepers first: a thread-per-request server has one per request. */
const MAX_SLEEPERS = 2048;

export function readSleepers(map: { entries(): Iterable<[Buffer, Buffer]> }, valueOf: (v: Buffer) => { us: number; count: number }): Sleeper[] {
  const sleepers: Sleeper[] = [];
  for (const [key, value] of map.entries()) {
    const { us, count } = valueOf(value);
    sleepers.push({
      pid: key.readUInt32LE(sleeperLayout.offsets.tgid),
      tid: key.readUInt32LE(sleeperLayout.offsets.tid),
      ms: Math.round(us / 10) / 100,
      sleeps: count,
    });
  }
  return sleepers.sort((a, b) => b.ms - a.ms).slice(0, MAX_SLEEPERS);
}
