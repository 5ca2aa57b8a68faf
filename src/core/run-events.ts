// A run's progress events (the Redis stream the workers and the finalizer
// append to), followed from where the reader left off until the run ends.
// Catch-up is one XRANGE on the ordinary connection; what comes after is
// delivered by the process's RunEventHub (one blocking reader for all).
import type { RedisClient } from '../redis/connection.js';
import { FINAL_STATUSES, type RunRecord } from '../model/run.js';
import { keys } from '../redis/keys.js';
import { compareIds, type RunEventHub, type StreamEntry } from './run-event-hub.js';

export interface RunEventEntry {
  /** The stream id: a reconnecting reader resumes after it. */
  id: string;
  type: string;
  event: unknown;
}

export interface RunEventSources {
  hub: RunEventHub;
  /** A connection that never blocks, for the catch-up read. */
  redis: RedisClient;
}

/** How long a follower waits for the hub before it checks for an abort. */
const WAIT_MS = 5000;

/**
 * Yields events after `resumeFrom` (a stream id, else from the start) and
 * returns once the run-finished event was sent and nothing is left, or when
 * `signal` aborts.
 */
export async function* followRunEvents(
  { hub, redis }: RunEventSources,
  run: RunRecord,
  resumeFrom: string,
  signal: AbortSignal,
): AsyncGenerator<RunEventEntry> {
  let last = /^\d+-\d+$/.test(resumeFrom) ? resumeFrom : '0';
  const pending: StreamEntry[] = [];
  let wakeUp: (() => void) | undefined;
  const onAbort = () => wakeUp?.();
  signal.addEventListener('abort', onAbort, { once: true });
  // Subscribed before the catch-up read: nothing between the two is missed (duplicates are skipped by id).
  const unsubscribe = FINAL_STATUSES.has(run.status)
    ? () => {}
    : hub.subscribe(run.id, last, (entry) => {
        pending.push(entry);
        wakeUp?.();
      });
  const toEntry = ({ id, fields }: StreamEntry): RunEventEntry => {
    const event = JSON.parse(fields[1] ?? '{}') as { type: string };
    return { id, type: event.type, event };
  };
  try {
    const start = last === '0' ? '-' : `(${last}`;
    for (const [id, fields] of await redis.xrange(keys.runEvents(run.id), start, '+')) {
      if (signal.aborted) return;
      last = id;
      const entry = toEntry({ id, fields });
      yield entry;
      if (entry.type === 'run-finished') return;
    }
    if (FINAL_STATUSES.has(run.status)) return;
    while (!signal.aborted) {
      const next = pending.shift();
      if (!next) {
        await new Promise<void>((resolve) => {
          wakeUp = resolve;
          setTimeout(resolve, WAIT_MS);
        });
        wakeUp = undefined;
        continue;
      }
      if (compareIds(next.id, last) <= 0) continue; // already sent by the catch-up
      last = next.id;
      const entry = toEntry(next);
      yield entry;
      if (entry.type === 'run-finished') return;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}
