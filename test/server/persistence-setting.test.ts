// Redis persistence is a setting: load.appendfsync in the config file reaches
// the embedded redis-server `sherlock up` starts (default everysec).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLimitsFrom } from '../../src/config/load-limits.js';
import { connectRedis } from '../../src/redis/connection.js';
import { startEmbeddedRedis } from '../../src/redis/embedded.js';
import { redisServerChildren } from '../helpers/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'sherlock-fsync-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(redisServerChildren()).toEqual([]);
});

describe('load.appendfsync', () => {
  it('is everysec by default and what the config file says otherwise', async () => {
    expect(loadLimitsFrom(undefined).appendfsync).toBe('everysec');
    const file = join(dir, 'sherlock.yaml');
    writeFileSync(file, 'load:\n  appendfsync: always\n', { mode: 0o600 });
    const setting = loadLimitsFrom(file).appendfsync;
    expect(setting).toBe('always');
    const redis = await startEmbeddedRedis({ dataDir: join(dir, 'redis'), appendfsync: setting });
    const conn = connectRedis(redis.url, 'fsync-test');
    try {
      expect(await conn.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
      expect(await conn.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    } finally {
      conn.disconnect();
      await redis.stop();
    }
  });
});
