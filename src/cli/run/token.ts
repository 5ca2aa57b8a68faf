// Which API token `sherlock run` sends: --token, SHERLOCK_TOKEN, or for an
// API on this host the admin token `sherlock up` stored.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PermissionError } from '../../libbpf/index.js';
import { UsageError } from '../usage-error.js';
import type { RunFlags } from './flags.js';
import { DEFAULT_STATE_DIR } from './view.js';

/** A token read from the state dir is refused with exit 77 when only root may read it. */
class TokenFilePermissionError extends PermissionError {
  constructor(file: string) {
    super('root', 'reading the admin token');
    this.message = `cannot read ${file} (root only): run as root, or pass --token / set SHERLOCK_TOKEN`;
  }
}

const isLocal = (base: string) => {
  const host = new URL(base).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === hostname().toLowerCase();
};

/** --token, SHERLOCK_TOKEN, or (for an API on this host) the admin token `sherlock up` stored. */
export function apiToken(values: Pick<RunFlags, 'token'>, base: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = values.token ?? (env.SHERLOCK_TOKEN || undefined);
  if (given !== undefined) {
    if (!given.trim()) throw new UsageError('--token is empty');
    return given.trim();
  }
  const file = join(env.SHERLOCK_STATE_DIR || DEFAULT_STATE_DIR, 'admin-token');
  if (isLocal(base) && existsSync(file)) {
    try {
      const token = readFileSync(file, 'utf8').trim();
      if (token) return token;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new TokenFilePermissionError(file);
      throw err;
    }
  }
  throw new UsageError(`no API token: pass --token T or set SHERLOCK_TOKEN${isLocal(base) ? ` (no admin token in ${file} either)` : ''}`);
}
