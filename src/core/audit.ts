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
  constructor(private readonly redis: RedisClient) {}

  async record(entry: AuditRecord): Promise<void> {
    const fields = ['time', new Date().toISOString(), 'actor', entry.actor, 'action', entry.action, 'subject', entry.subject];
    if (entry.details !== undefined) fields.push('details', JSON.stringify(entry.details));
    // No MAXLEN here: retention (audit-retention.ts) archives entries to a file before trimming them.
    await this.redis.xadd(keys.audit, '*', ...fields);
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  read(limit: number, before?: string): Promise<AuditEntry[]> {
    return readAudit(this.redis, limit, before);
  }
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
