// The audit log: an append-only Redis stream of who did what to which run.
import type { RedisClient } from '../redis/connection.js';
import { keys } from '../redis/keys.js';

export interface AuditEntry {
  id: string;
  time: string;
  actor: string;
  action: string;
  subject: string;
  details?: unknown;
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'time'>;

export class AuditLog {
  private pending: { fields: string[]; resolve(): void; reject(err: unknown): void }[] = [];

  constructor(private readonly redis: RedisClient) {}

  /**
   * Appends one entry; resolves once it is in Redis. Entries recorded in the
   * same turn of the event loop are written in one pipeline (one socket write
   * for a batch of submissions instead of one per run), each caller still
   * hearing of its own entry's failure.
   */
  record(entry: AuditRecord): Promise<void> {
    const fields = auditFields(entry);
    return new Promise<void>((resolve, reject) => {
      if (!this.pending.length) setImmediate(() => void this.flush());
      this.pending.push({ fields, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const pipeline = this.redis.pipeline();
    // No MAXLEN here: retention (audit-retention.ts) archives entries to a file before trimming them.
    for (const { fields } of batch) pipeline.xadd(keys.audit, '*', ...fields);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch (err) {
      for (const entry of batch) entry.reject(err);
      return;
    }
    batch.forEach((entry, i) => {
      const err = replies?.[i]?.[0] ?? (replies ? null : new Error('audit entry not written: the pipeline was discarded'));
      if (err) entry.reject(err);
      else entry.resolve();
    });
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  read(limit: number, before?: string): Promise<AuditEntry[]> {
    return readAudit(this.redis, limit, before);
  }
}

/** An entry as the stream's fields; for writers that append it themselves (a run's creation, with the run). */
export function auditFields(entry: AuditRecord): string[] {
  const fields = ['time', new Date().toISOString(), 'actor', entry.actor, 'action', entry.action, 'subject', entry.subject];
  if (entry.details !== undefined) fields.push('details', JSON.stringify(entry.details));
  return fields;
}

async function readAudit(redis: RedisClient, limit: number, before?: string): Promise<AuditEntry[]> {
  const end = before ? `(${before}` : '+';
  const rows = await redis.xrevrange(keys.audit, end, '-', 'COUNT', limit);
  return rows.map(([id, flat]) => parseAuditRow(id, flat));
}

/** One stream entry (id and flat field list) as an entry. */
export function parseAuditRow(id: string, flat: string[]): AuditEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  return {
    id,
    time: f.time!,
    actor: f.actor!,
    action: f.action!,
    subject: f.subject!,
    ...(f.details ? { details: parseDetails(f.details) } : {}),
  };
}

function parseDetails(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // never lose an entry over its details
  }
}
