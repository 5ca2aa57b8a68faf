// Slack signatures this process already accepted, kept as long as a timestamp
// may still be valid (10 min, REPLAY_MEMORY_SECONDS): a replay to the same replica is refused without asking
// Redis, which may be slow. Bounded; the oldest are dropped first.
import { REPLAY_MEMORY_SECONDS } from './verify.js';

export const SEEN_MAX_ENTRIES = 10_000;

export class SeenSignatures {
  /** signature → expiry (ms); every entry has the same lifetime, so insertion order is expiry order. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = REPLAY_MEMORY_SECONDS * 1000,
    private readonly maxEntries = SEEN_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** True the first time `signature` is offered within its lifetime; false for a replay. Records it. */
  firstTime(signature: string, now = Date.now()): boolean {
    for (const [old, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(old);
    }
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, now + this.ttlMs);
    if (this.seen.size > this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }
}
