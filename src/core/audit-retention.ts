// Audit retention: entries past the configured age or count leave Redis only
// after they were appended to the archive file (JSON lines, synced to disk),
// so trimming never loses one. One API replica trims at a time (a lease); a
// failed append trims nothing and is retried on the next pass.
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RedisClient } from '../redis/connection.js';
import type { AuditRetention } from '../config/audit-retention.js';
import { keys } from '../redis/keys.js';
import { Lease } from '../redis/lease.js';
import { createLogger } from '../util/logger.js';
import { parseAuditRow } from './audit.js';

const log = createLogger({ component: 'audit' });
const BATCH = 1000;
/** A pass archives at most this many batches; the next pass goes on (keeps one pass short). */
const MAX_BATCHES_PER_PASS = 200;
const DAY_MS = 86_400_000;
const TRIM_INTERVAL_MS = 60_000;
/** A replica that stops renewing hands trimming on after this. */
const TRIM_LEASE_MS = 3 * TRIM_INTERVAL_MS;

export interface TrimOutcome {
  /** Entries appended to the archive file and removed from Redis. */
  archived: number;
  /** Entries left in Redis. */
  left: number;
}

/** One pass: archives then trims every entry past the age or count limit (up to a bounded number). */
export async function trimAuditLog(redis: RedisClient, retention: AuditRetention, now = Date.now()): Promise<TrimOutcome> {
  const cutoffMs = now - retention.maxAgeDays * DAY_MS;
  let archived = 0;
  for (let batch = 0; batch < MAX_BATCHES_PER_PASS; batch++) {
    const excess = (await redis.xlen(keys.audit)) - retention.maxEntries;
    const oldest = await redis.xrange(keys.audit, '-', '+', 'COUNT', BATCH);
    // Oldest first, so both limits pick a prefix: the entries over the count, and those too old.
    const due = oldest.filter(([id], i) => i < excess || idTimeMs(id) < cutoffMs);
    if (!due.length) break;
    await appendSynced(retention.archiveFile, due.map(([id, flat]) => JSON.stringify(parseAuditRow(id, flat))).join('\n') + '\n');
    // Stream ids only grow, so MINID just past the last archived id removes exactly what was archived.
    await redis.xtrim(keys.audit, 'MINID', '=', nextId(due.at(-1)![0]));
    archived += due.length;
    if (due.length < oldest.length || oldest.length < BATCH) break;
  }
  return { archived, left: await redis.xlen(keys.audit) };
}

/** Trims every minute on whichever API replica holds the lease. */
export function startAuditRetention(redis: RedisClient, retention: AuditRetention, intervalMs = TRIM_INTERVAL_MS): { stop(): Promise<void> } {
  const lease = new Lease(redis, keys.auditTrimLease, Math.max(TRIM_LEASE_MS, 3 * intervalMs));
  let running: Promise<void> | undefined;
  const pass = () => {
    if (running) return;
    running = lease
      .acquire()
      .then(async (attempt) => {
        if (!attempt.held) return;
        const { archived, left } = await trimAuditLog(redis, retention);
        if (archived) log.info('audit entries archived and trimmed', { archived, left, file: retention.archiveFile });
      })
      .catch((err) =>
        log.warn('audit trimming failed; nothing was trimmed past what was archived', { error: (err as Error).message, file: retention.archiveFile }),
      )
      .finally(() => (running = undefined));
  };
  const timer = setInterval(pass, intervalMs);
  pass();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      if (redis.status === 'ready') await lease.release().catch(() => false);
    },
  };
}

async function appendSynced(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

const idTimeMs = (id: string) => Number(id.split('-')[0]);

function nextId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return `${ms}-${BigInt(seq) + 1n}`;
}
