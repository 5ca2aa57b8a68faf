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
