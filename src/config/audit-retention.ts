// `audit` in the Sherlock config file: how long the audit log is kept in Redis
// (by age and by count) and the file its trimmed entries are appended to first.
import { join } from 'node:path';
import { z } from 'zod';
import { readYamlFile } from './config-file.js';
import { strictObject } from './zod-text.js';

export interface AuditRetention {
  /** Entries kept in Redis; older ones beyond this count are archived, then trimmed. */
  maxEntries: number;
  /** Entries older than this (days) are archived, then trimmed. */
  maxAgeDays: number;
  /** JSON lines file trimmed entries are appended to (and synced) before they leave Redis. */
  archiveFile: string;
}

export const AUDIT_ARCHIVE_NAME = 'audit-archive.ndjson';

export const DEFAULT_AUDIT_RETENTION = { maxEntries: 100_000, maxAgeDays: 365 } as const;

export const auditRetentionSchema = strictObject({
  maxEntries: z.number().int().min(100, 'at least 100').max(100_000_000).default(DEFAULT_AUDIT_RETENTION.maxEntries),
  maxAgeDays: z.number().gt(0, 'above 0').max(36_500).default(DEFAULT_AUDIT_RETENTION.maxAgeDays),
  archiveFile: z.string().trim().min(1, 'the archive file path is empty').optional(),
});

/** The file's `audit` section (checked with the rest of the file at start), else the defaults; the archive defaults into `stateDir`. */
export function auditRetentionFrom(file: string | undefined, stateDir: string): AuditRetention {
  const read = file ? readYamlFile(file) : undefined;
  const section = read?.ok ? (read.doc as { audit?: unknown } | null)?.audit : undefined;
  const parsed = auditRetentionSchema.safeParse(section ?? {});
  const data = parsed.success ? parsed.data : DEFAULT_AUDIT_RETENTION;
  return {
    maxEntries: data.maxEntries,
    maxAgeDays: data.maxAgeDays,
    archiveFile: ('archiveFile' in data && data.archiveFile) || join(stateDir, AUDIT_ARCHIVE_NAME),
  };
}
