// The chat follow-ups an API process runs in the background (a late answer,
// a run's progress posts), each with its own AbortSignal, so that stopping the
// API stops them and waits for them, bounded, before closing Redis.
import { settlesWithin } from '../../redis/connection.js';
import { createLogger } from '../../util/logger.js';

const log = createLogger({ component: 'chatops' });

/** How long stop() waits for aborted followers to return. */
export const FOLLOWERS_STOP_MS = 3_000;

export class ChatFollowers {
  private readonly running = new Map<AbortController, Promise<void>>();
  private stopped = false;

  /** How many are running now. */
  get size(): number {
    return this.running.size;
  }

  /** Runs `task` in the background until it returns or stop() aborts its signal; a failure is logged. */
  start(what: string, task: (signal: AbortSignal) => Promise<void>): void {
    if (this.stopped) {
      log.warn('chat follow-up not started: the API is stopping', { what });
      return;
    }
    const controller = new AbortController();
    const done = Promise.resolve()
      .then(() => task(controller.signal))
      .catch((err: Error) => log.warn('chat follow-up failed', { what, error: err.message }))
      .finally(() => this.running.delete(controller));
    this.running.set(controller, done);
  }

  /** Aborts every follower, refuses new ones, and waits for them at most `ms`; true if all returned. */
  async stop(ms = FOLLOWERS_STOP_MS): Promise<boolean> {
    this.stopped = true;
    for (const controller of this.running.keys()) controller.abort(new Error('the API is stopping'));
    return settlesWithin(Promise.all(this.running.values()), ms);
  }
}
