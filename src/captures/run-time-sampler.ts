// A capture's BPF run time, sampled. Its programs count every run, and time
// the runs made while their object's switch is on (bpf/common/sherlock.bpf.h):
// on for the first TIMING_ON_MS of every TIMING_PERIOD_MS. The run time is the
// timed runs' mean times every run. A flip is one map write; the kernel's own
// stats switch patched every BPF dispatch site (~6 ms of CPU at each start).
import type { BpfObject } from '../libbpf/index.js';
import { recordLayout } from './records.js';

export const TIMING_PERIOD_MS = 2000;
// Timed, a run pays two clock reads (sched_clock was 4% of a traced connect
// storm's CPU with the kernel's stats always on): a twentieth of the time.
export const TIMING_ON_MS = 100;

const TIMING_MAP = 'sherlock_timing';
const RUN_TIME_MAP = 'sherlock_run_time';
const KEY_ZERO = Buffer.alloc(4);

/** struct sherlock_run_time (bpf/common/sherlock.h), one per CPU. */
export const runTimeLayout = recordLayout('sherlock_run_time', 24, { ns: 0, runs: 8, timed_runs: 16 });

/** Run time and runs of one object's programs, counted and extrapolated. */
export interface RunTimeEstimate {
  ns: number;
  runs: number;
}

interface Counters {
  ns: number;
  runs: number;
  timedRuns: number;
}

/** struct sherlock_run_time summed over CPUs; zeros for an object without it. */
function readCounters(object: BpfObject): Counters {
  const counters = { ns: 0, runs: 0, timedRuns: 0 };
  if (!object.spec.maps.some((m) => m.name === RUN_TIME_MAP)) return counters;
  const map = object.map(RUN_TIME_MAP);
  const value = map.lookup(KEY_ZERO);
  for (const cpu of value ? map.perCpuValues(value) : []) {
    const at = runTimeLayout.offsets;
    counters.ns += Number(cpu.readBigUInt64LE(at.ns));
    counters.runs += Number(cpu.readBigUInt64LE(at.runs));
    counters.timedRuns += Number(cpu.readBigUInt64LE(at.timed_runs));
  }
  return counters;
}

function setTiming(object: BpfObject, on: boolean): void {
  if (!object.isOpen || !object.spec.maps.some((m) => m.name === TIMING_MAP)) return;
  const value = Buffer.alloc(4);
  value.writeUInt32LE(on ? 1 : 0);
  object.map(TIMING_MAP).update(KEY_ZERO, value);
}

export interface RunTimeMeter {
  /** Estimated run time and runs of the object's programs since trackRunTime(). */
  estimate(): RunTimeEstimate;
  /** Stops counting and timing; returns the final estimate. */
  stop(): RunTimeEstimate;
}

/**
 * Counts an object's program runs from now on, timing them in windows. Call
 * it before attaching: the switch is on from the first run, so a capture
 * shorter than one window is timed whole.
 */
export function trackRunTime(object: BpfObject): RunTimeMeter {
  const start = readCounters(object);
  let final: RunTimeEstimate | undefined;
  let timer: NodeJS.Timeout | undefined;
  const window = (on: boolean) => {
    setTiming(object, on);
    timer = setTimeout(() => window(!on), on ? TIMING_ON_MS : TIMING_PERIOD_MS - TIMING_ON_MS);
    timer.unref();
  };
  window(true);

  const estimate = (): RunTimeEstimate => {
    const now = readCounters(object);
    const runs = now.runs - start.runs;
    const timedRuns = now.timedRuns - start.timedRuns;
    const ns = timedRuns > 0 ? ((now.ns - start.ns) / timedRuns) * runs : 0;
    return { ns, runs };
  };
  return {
    estimate: () => final ?? estimate(),
    stop() {
      if (final) return final;
      clearTimeout(timer);
      final = estimate();
      setTiming(object, false);
      return final;
    },
  };
}
