// The embedded Redis's passwords: made once by `sherlock up`, kept in the state
// dir readable by its owner only (0600), reused on every later start.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisCredentials } from './acl.js';

export const CREDENTIALS_FILE = 'redis-credentials.json';

export function loadOrCreateRedisCredentials(stateDir: string): { credentials: RedisCredentials; file: string } {
  const file = join(stateDir, CREDENTIALS_FILE);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<RedisCredentials>;
    if (stored.admin && stored.api && stored.worker) {
      chmodSync(file, 0o600);
      return { credentials: stored as RedisCredentials, file };
    }
  }
  const make = () => randomBytes(32).toString('hex');
  const credentials: RedisCredentials = { admin: make(), api: make(), worker: make() };
  writeFileSync(file, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { credentials, file };
}
