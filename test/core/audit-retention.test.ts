// Audit retention on a real Redis: entries past the age or count limit are
// appended to the archive file before they leave Redis, so Redis plus the
// file always hold every entry exactly once, also while entries keep arriving
// and with two replicas trimming; an archive that cannot be written trims nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditRetentionFrom, type AuditRetention } from '../../src/config/audit-retention.js';
import { AuditLog, type AuditEntry } from '../../src/core/audit.js';
import { startAuditRetention, trimAuditLog } from '../../src/core/audit-retention.js';
import { connectRedis } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { configFileSchema } from '../../src/triggers/settings.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

describe('audit retention', () => {
  let server: TestRedis;
  let redis: RedisClient;
  let audit: AuditLog;
  let dir: string;

  beforeAll(async () => {
    server = await startTestRedis();
    redis = connectRedis(server.url, 'audit-retention-test');
    audit = new AuditLog(redis);
    dir = mkdtempSync(join(tmpdir(), 'sherlock-audit-'));
  }, 30_000);

  beforeEach(async () => {
    await redis.del(keys.audit, keys.auditTrimLease);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  const archived = (file: string): AuditEntry[] =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as AuditEntry)
      : [];
  const inRedis = async (): Promise<AuditEntry[]> => (await audit.read(1_000_000)).reverse();
  const retention = (name: string, over: Partial<AuditRetention> = {}): AuditRetention => ({
    maxEntries: 100,
    maxAgeDays: 365,
    archiveFile: join(dir, name, 'audit-archive.ndjson'),
    ...over,
  });

  it('keeps the newest maxEntries in Redis and appends the rest, oldest first, to the archive', async () => {
    const r = retention('count');
    for (let i = 0; i < 2_350; i++) await audit.record({ actor: 'tester', action: 'run.start', subject: `run-${i}`, details: { i } });
    const outcome = await trimAuditLog(redis, r);
    expect(outcome).toEqual({ archived: 2_250, left: 100 });
    const file = archived(r.archiveFile);
    const kept = await inRedis();
    expect(file.map((e) => e.subject)).toEqual(Array.from({ length: 2_250 }, (_, i) => `run-${i}`));
    expect(file[7]).toMatchObject({ actor: 'tester', action: 'run.start', subject: 'run-7', details: { i: 7 } });
    expect(kept.map((e) => e.subject)).toEqual(Array.from({ length: 100 }, (_, i) => `run-${2_250 + i}`));
    // A second pass has nothing to do.
    expect(await trimAuditLog(redis, r)).toEqual({ archived: 0, left: 100 });
  });

  it('archives entries older than maxAgeDays whatever the count', async () => {
    const r = retention('age', { maxEntries: 1_000, maxAgeDays: 30 });
    const now = Date.now();
    const day = 86_400_000;
    // Stream ids are milliseconds: entries written 40 and 31 days ago, then recent ones.
    for (const [ageDays, n] of [
      [40, 3],
      [31, 2],
      [29, 2],
      [0, 1],
    ] as const) {
      for (let i = 0; i < n; i++) {
        await redis.xadd(
          keys.audit,
          `${now - ageDays * day}-${i}`,
          'time',
          new Date(now - ageDays * day).toISOString(),
          'actor',
          'a',
          'action',
          'x',
          'subject',
          `${ageDays}d-${i}`,
        );
      }
    }
    expect(await trimAuditLog(redis, r, now)).toEqual({ archived: 5, left: 3 });
    expect(archived(r.archiveFile).map((e) => e.subject)).toEqual(['40d-0', '40d-1', '40d-2', '31d-0', '31d-1']);
    expect((await inRedis()).map((e) => e.subject)).toEqual(['29d-0', '29d-1', '0d-0']);
  });

  it('loses and duplicates nothing while entries keep arriving and two replicas trim', async () => {
    const r = retention('busy');
    const second = connectRedis(server.url, 'audit-replica-2');
    const replicas = [startAuditRetention(redis, r, 20), startAuditRetention(second, r, 20)];
    const total = 3_000;
    try {
      for (let i = 0; i < total; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => audit.record({ actor: 'load', action: 'run.start', subject: `busy-${i + j}` })));
      }
    } finally {
      await Promise.all(replicas.map((rep) => rep.stop()));
      second.disconnect();
    }
    expect(archived(r.archiveFile).length, 'the replicas trimmed while entries arrived').toBeGreaterThan(0);
    await trimAuditLog(redis, r);
    const all = [...archived(r.archiveFile), ...(await inRedis())];
    expect(all.length).toBe(total);
    expect(new Set(all.map((e) => e.id)).size).toBe(total);
    expect(new Set(all.map((e) => e.subject)).size).toBe(total);
    // In stream order across the file and Redis.
    const order = all.map((e) => e.id.split('-').map(BigInt)).map(([ms = 0n, seq = 0n]) => (ms << 32n) + seq);
    for (let i = 1; i < order.length; i++) expect(order[i]! > order[i - 1]!).toBe(true);
    expect(await redis.xlen(keys.audit)).toBe(100);
  }, 60_000);

  it('trims nothing when the archive cannot be written', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the archive directory should be');
    const r = retention('', { archiveFile: join(blocker, 'audit-archive.ndjson') });
    for (let i = 0; i < 150; i++) await audit.record({ actor: 't', action: 'x', subject: `keep-${i}` });
    await expect(trimAuditLog(redis, r)).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(await redis.xlen(keys.audit)).toBe(150);
  });

  it('is configured in the config file, checked with the rest of it', () => {
    const file = join(dir, 'sherlock.yaml');
    writeFileSync(file, 'audit:\n  maxEntries: 5000\n  maxAgeDays: 30\n  archiveFile: /srv/audit.ndjson\n', { mode: 0o600 });
    expect(auditRetentionFrom(file, '/var/lib/sherlock')).toEqual({ maxEntries: 5000, maxAgeDays: 30, archiveFile: '/srv/audit.ndjson' });
    expect(auditRetentionFrom(undefined, '/state')).toEqual({ maxEntries: 100_000, maxAgeDays: 365, archiveFile: '/state/audit-archive.ndjson' });
    const bad = configFileSchema.safeParse({ audit: { maxEntries: 10, maxAge: 3 } });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(messages).toContain('audit.maxEntries: at least 100');
    expect(messages).toMatch(/maxAge/);
  });
});
