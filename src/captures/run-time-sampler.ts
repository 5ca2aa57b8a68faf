// The kernel's BPF run-time stats, sampled: on for the first STATS_ON_MS of
// every STATS_PERIOD_MS while any capture runs, off otherwise. Always on, they add two
// clock reads to every program run (~5% of a connect or a one-byte read);
// sampled, a twentieth of that. A capture's cost is what was counted while on,
// scaled to the whole window. One schedule for the process: the stats switch
// is one refcount in the kernel, so captures sampling on their own phases
// would see each other's windows.
import type { BpfObject } from '../libbpf/index.js';
import { closeStatsFdAsync, enableRunTimeStatsAsync, programStats } from '../libbpf/index.js';
import { createLogger } from '../util/logger.js';
const nowMs = () => performance.now();

// Switching the stats costs ~10 ms of CPU and ~50 ms of wall time a pair (the
// kernel patches every BPF dispatch site): once per period, not more often.
export const STATS_PERIOD_MS = 2000;
// 100 ms, not 200: a storm starting with the capture runs its first 100 ms with
// the stats on (perf: sched_clock was 4% of a traced connect storm's CPU).
export const STATS_ON_MS = 100;

/** Run time and runs of one object's programs, counted and extrapolated. */
export interface RunTimeEstimate {
  ns: number;
  runs: number;
}

class Tracked {
  private settled: RunTimeEstimate = { ns: 0, runs: 0 };
  // The period in progress: counters at its start and at its on→off edge.
  private atStart: RunTimeEstimate;
  private atOff: RunTimeEstimate | undefined;
  private startedAt = nowMs();
  private offAt = 0;

  constructor(readonly object: BpfObject) {
    this.atStart = this.read();
  }

  /** The stats just went off: what the on window counted is known. */
  switchedOff(): void {
    this.atOff = this.read();
    this.offAt = nowMs();
  }

  /** A new period starts (stats on again): settle the one that ended. */
  switchedOn(): void {
    this.settled = this.estimate();
    this.atStart = this.read();
    this.atOff = undefined;
    this.startedAt = nowMs();
  }

  /** Settled periods plus the one in progress, scaled from its on window. */
  estimate(): RunTimeEstimate {
    const now = this.read();
    if (!this.atOff) return { ns: this.settled.ns + now.ns - this.atStart.ns, runs: this.settled.runs + now.runs - this.atStart.runs };
    const onMs = Math.max(this.offAt - this.startedAt, 1e-3);
    const scale = (nowMs() - this.startedAt) / onMs;
    // Counted in the off window too: someone else has the stats on; then the count is the floor.
    const part = (field: keyof RunTimeEstimate) => {
      const on = this.atOff![field] - this.atStart[field];
      return Math.max(now[field] - this.atStart[field], on * scale);
    };
    return { ns: this.settled.ns + part('ns'), runs: this.settled.runs + part('runs') };
  }

  private read(): RunTimeEstimate {
    let ns = 0n;
    let runs = 0n;
    for (const program of this.object.spec.programs) {
      if (!program.autoload) continue;
      const stats = programStats(this.object.programFd(program.name));
      ns += stats.runTimeNs;
      runs += stats.runCount;
    }
    return { ns: Number(ns), runs: Number(runs) };
  }
}

const log = createLogger({ component: 'run-time-stats' });
const tracked = new Set<Tracked>();
let statsFd = -1;
let enabling = false;
let phaseOn = false;
let timer: NodeJS.Timeout | undefined;
let holds = 0; // captures between holdRunTimeStats() and trackRunTime()

// Switched on koffi's threads: each switch waits on every CPU, never on the event loop.
function statsOn(): void {
  if (statsFd >= 0 || enabling) return;
  enabling = true;
  enableRunTimeStatsAsync().then(
    (fd) => {
      enabling = false;
      if (((tracked.size && phaseOn) || holds > 0) && statsFd < 0) statsFd = fd;
      else void closeStatsFdAsync(fd);
    },
    (err: unknown) => {
      enabling = false;
      log.warn('BPF run-time stats could not be switched on: BPF CPU reads 0', { error: (err as Error).message });
    },
  );
}

function statsOff(): void {
  void closeStatsFdAsync(statsFd);
  statsFd = -1;
}

function switchOn(): void {
  const wasOn = phaseOn;
  phaseOn = true;
  statsOn();
  // A period already on goes on for the captures in it (their counts are raw deltas while on):
  // settling them again would read every program of every capture at each capture's start.
  if (!wasOn) for (const t of tracked) t.switchedOn();
  clearTimeout(timer);
  timer = setTimeout(switchOff, STATS_ON_MS);
  timer.unref();
}

function switchOff(): void {
  phaseOn = false;
  for (const t of tracked) t.switchedOff();
  statsOff();
  timer = setTimeout(switchOn, STATS_PERIOD_MS - STATS_ON_MS);
  timer.unref();
}

export interface RunTimeMeter {
  /** Estimated run time and runs of the object's programs since track(). */
  estimate(): RunTimeEstimate;
  /** Stops counting; returns the final estimate. */
  stop(): RunTimeEstimate;
}

/**
 * Counts an object's program run time from now on. A new capture starts a
 * new period with the stats on, so a capture shorter than ON_MS is counted
 * whole, not extrapolated.
 */
/**
 * A capture is about to start: the stats go on now, on koffi's threads, while
 * its object is taken, its collector made and its programs attached. Switching
 * them costs ~10 ms of wall time and ~6 ms of CPU (every BPF dispatch site in
 * the kernel is patched): begun first, it overlaps the start instead of
 * following it, and the capture's first runs are counted. Released by
 * trackRunTime's caller once tracking, or when the start fails.
 */
export function holdRunTimeStats(): () => void {
  holds++;
  statsOn();
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    holds--;
    if (!holds && !tracked.size) statsOff();
  };
}

export function trackRunTime(object: BpfObject): RunTimeMeter {
  const entry = new Tracked(object);
  tracked.add(entry);
  switchOn();
  let final: RunTimeEstimate | undefined;
  return {
    estimate: () => final ?? entry.estimate(),
    stop() {
      if (final) return final;
      final = entry.estimate();
      tracked.delete(entry);
      if (!tracked.size) {
        clearTimeout(timer);
        timer = undefined;
        phaseOn = false;
        statsOff();
      }
      return final;
    },
  };
}
