// Before the {sherlock} hash tag (src/redis/keys.ts) keys were "sherlock:..."
// and queues "sherlock-...": a Redis upgraded in place still holds them
// (tokens, audit log, runs, baselines, schedules). The API renames them once
// at start, on a single Redis (a Cluster never had them). Runs in flight
// during the upgrade are not carried over: drain first (README, Upgrades).
import type { Redis } from 'ioredis';
import { HASH_TAG } from './keys.js';

const PATTERNS = ['sherlock:*', 'bull:sherlock-*'];

/** The new name of a pre-hash-tag key, or undefined if `key` is not one. */
export function renamedKey(key: string): string | undefined {
  if (key.startsWith('sherlock:')) {
    // Run keys carried the run id as their own tag: sherlock:run:{id}:events.
    return `${HASH_TAG}:${key.slice('sherlock:'.length).replace(/^run:\{([^}]*)\}/, 'run:$1')}`;
  }
  if (key.startsWith('bull:sherlock-')) return `bull:${HASH_TAG}-${key.slice('bull:sherlock-'.length)}`;
  return undefined;
}

/** Set once the keyspace was scanned, so later starts skip the scan. */
const DONE_KEY = `${HASH_TAG}:migrated:hash-tag`;

/** Renames every legacy key (RENAMENX: a key already there in the new form wins); returns how many moved. */
export async function migrateLegacyKeys(redis: Redis): Promise<number> {
  if (await redis.exists(DONE_KEY)) return 0;
  let moved = 0;
  for (const match of PATTERNS) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        const target = renamedKey(key);
        if (!target) continue;
        // Another API replica may have moved it a moment ago.
        moved += await redis.renamenx(key, target).catch(() => 0);
      }
    } while (cursor !== '0');
  }
  await redis.set(DONE_KEY, new Date().toISOString());
  return moved;
}
