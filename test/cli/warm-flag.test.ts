// `--warm` (which captures a worker keeps loaded between runs) is checked
// before anything starts: a name that is no BPF capture is a usage error
// that lists what is allowed, not a stack trace.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';
import { sherlockBin } from '../helpers/kernel.js';

const built = existsSync(join(projectRoot, 'dist', 'src', 'cli', 'main.js'));

describe.skipIf(!built)('sherlock worker --warm', () => {
  it.each([['worker'], ['up']])('%s refuses an unknown capture name and says what is allowed', (command) => {
    const result = spawnSync('node', [sherlockBin, command, '--warm', 'execsnoop,nosuch'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', SHERLOCK_WARM: '' },
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--warm takes all, none or capture names .*execsnoop.*; unknown: nosuch/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
