// Concurrent callers of the same read share the one already in flight instead
// of each sending their own: a busy API asks Redis once per round trip, not
// once per request. A caller may see what was true a round trip before it
// arrived, never older.
export function sharedInFlight<T>(read: () => Promise<T>): () => Promise<T> {
  let current: Promise<T> | undefined;
  return () => {
    if (!current) {
      current = read().finally(() => {
        current = undefined;
      });
    }
    return current;
  };
}

/**
 * sharedInFlight whose answer is also reused for `maxAgeMs` after it arrived: for reads that
 * change on a clock slower than that (heartbeats), which a busy API would otherwise send once
 * per round trip, each queued in Redis behind the writes of the requests before. `fresh()`
 * does not reuse (a read already in flight is still shared).
 */
export function sharedRecent<T>(read: () => Promise<T>, maxAgeMs: number): { recent(): Promise<T>; fresh(): Promise<T> } {
  let last: { value: T; at: number } | undefined;
  const fresh = sharedInFlight(async () => {
    const value = await read();
    last = { value, at: performance.now() };
    return value;
  });
  return {
    recent: () => (last && performance.now() - last.at < maxAgeMs ? Promise.resolve(last.value) : fresh()),
    fresh,
  };
}
