// A node job's proof of life to the reaper: while it works (a big run's
// storing and analysis can take longer than the grace after its window), it
// moves its run's deadline on, so only a job that stopped making progress
// (its worker died, its host went away) is failed as lost.
import type { RunStore } from '../runs/store.js';

/** How often the deadline moves. */
export const DEADLINE_STEP_MS = 2_000;

export interface DeadlineKeeper {
  /** Stops moving it, once the last move is in Redis (before the node reports: a finished run's deadline stays cleared). */
  stop(): Promise<void>;
}

/** Moves the run's deadline to `graceMs` from now every DEADLINE_STEP_MS, never past `capMs` (epoch ms). */
export function keepDeadline(store: Pick<RunStore, 'extendDeadline'>, runId: string, limits: { graceMs: number; capMs: number }): DeadlineKeeper {
  let last: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    last = store.extendDeadline(runId, Math.min(Date.now() + limits.graceMs, limits.capMs)).catch(() => {});
  }, DEADLINE_STEP_MS);
  return {
    stop: () => {
      clearInterval(timer);
      return last;
    },
  };
}
