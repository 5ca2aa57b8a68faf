// A run's progress events (the Redis stream the workers and the finalizer
// append to), followed from where the reader left off until the run ends.
// Each follower reads on a connection of its own: the read blocks.
import type { Redis } from 'ioredis';
import { FINAL_STATUSES, type RunRecord } from '../model/run.js';
import { keys } from '../redis/keys.js';

export interface RunEventEntry {
  /** The stream id: a reconnecting reader resumes after it. */
  id: string;
  type: string;
  event: unknown;
}

/** How long one blocking read waits while the run is still going. */
const BLOCK_MS = 5000;

/**
 * Yields events after `resumeFrom` (a stream id, else from the start) and
 * returns once the run-finished event was sent and nothing is left, or when
 * `signal` aborts (the reader is disconnected, ending a blocked read).
 */
export async function* followRunEvents(openReader: () => Redis, run: RunRecord, resumeFrom: string, signal: AbortSignal): AsyncGenerator<RunEventEntry> {
  const reader = openReader();
  const stop = () => reader.disconnect();
  signal.addEventListener('abort', stop, { once: true });
  try {
    let last = /^\d+-\d+$/.test(resumeFrom) ? resumeFrom : '0';
    for (let finished = FINAL_STATUSES.has(run.status); !signal.aborted; ) {
      const reply = (await reader.xread('COUNT', 100, 'BLOCK', finished ? 1 : BLOCK_MS, 'STREAMS', keys.runEvents(run.id), last)) as
        | [string, [string, string[]][]][]
        | null;
      const entries = reply?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        last = id;
        const event = JSON.parse(fields[1] ?? '{}') as { type: string };
        yield { id, type: event.type, event };
        if (event.type === 'run-finished') finished = true;
      }
      if (finished && !entries.length) break; // everything sent, the run is over
    }
  } finally {
    signal.removeEventListener('abort', stop);
    reader.disconnect();
  }
}
