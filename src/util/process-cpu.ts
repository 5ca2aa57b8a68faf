// The process's CPU time (user + system), for the worker's cost meter and heartbeat. getrusage
// sums every thread of the process and, on a busy VM, waits on other CPUs' run queues: with 250
// simulated workers in one process (bench/fleet-sim), each reading it at its job's start and end,
// p90 2.5 ms and up to 25 ms a call, 1.5 s of each process's event loop over four 1,000-node runs.
// Readers within READING_MAX_AGE_MS of each other share one reading (off by at most that much wall
// time's CPU: a run's window is ≥1 s).
const READING_MAX_AGE_MS = 25;

let last: { at: number; us: number } | undefined;

/** User + system CPU of this process, µs. */
export function processCpuUs(): number {
  const now = performance.now();
  if (!last || now - last.at >= READING_MAX_AGE_MS) {
    const { user, system } = process.cpuUsage();
    last = { at: now, us: user + system };
  }
  return last.us;
}
