// `sherlock runbooks` as a user runs it (the compiled CLI, a child process):
// the list from the files, one runbook in detail, and broken files named on
// stderr with exit 1. No API, no root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';
import { sherlockBin } from '../helpers/kernel.js';

const built = existsSync(join(projectRoot, 'dist', 'src', 'cli', 'main.js'));

function sherlock(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [sherlockBin, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env, SHERLOCK_RUNBOOKS_DIR: env.SHERLOCK_RUNBOOKS_DIR ?? '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!built)(`sherlock runbooks${built ? '' : ' (skipped: dist/ is not built; make build)'}`, () => {
  it('lists name, title and description of every built-in runbook', () => {
    const { code, stdout, stderr } = sherlock(['runbooks']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const [name, title] of [
      ['intermittent-latency', 'Intermittent latency'],
      ['high-cpu', 'High CPU'],
      ['suspicious-activity', 'Suspicious activity'],
      ['disk-io', 'Disk I/O'],
      ['health-check', 'Health check (baseline)'],
      ['restarts', 'Restarts and crashes'],
    ])
      expect(stdout).toContain(`${name} — ${title}\n`);
    expect(stdout).toContain('Requests to a service are sometimes slow.');
  });

  it('shows one runbook: params with types, defaults and bounds, the target and the steps; --json too', () => {
    const { code, stdout } = sherlock(['runbooks', 'intermittent-latency']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/frequency\s+int\s+99\s+an integer 1\.\.999/);
    expect(stdout).toContain('params.service → target.unit');
    expect(stdout).toContain('window: 30s by default, at most 5m');
    const json = JSON.parse(sherlock(['runbooks', 'high-cpu', '--json']).stdout);
    expect(json.params.properties.frequency).toMatchObject({ type: 'integer', default: 99 });
    expect(JSON.parse(sherlock(['runbooks', '--json']).stdout).runbooks).toHaveLength(6);
  });

  it('an unknown runbook is a usage error naming the known ones', () => {
    const { code, stderr } = sherlock(['runbooks', 'nope']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown runbook "nope"; runbooks: disk-io, health-check, high-cpu, intermittent-latency, restarts, suspicious-activity');
  });

  it('names a broken file with its field on stderr, lists the others, exits 1 (SHERLOCK_RUNBOOKS_DIR)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-cli-runbooks-'));
    try {
      writeFileSync(join(dir, 'good.yaml'), 'name: good\ntitle: Good one\ndescription: fine\nsteps:\n  - capture: execsnoop\n');
      writeFileSync(
        join(dir, 'bad.yaml'),
        'name: bad\ntitle: Bad\ndescription: x\nparams:\n  p: { type: int, max: 5, default: 9 }\nsteps:\n  - capture: execsnoop\n',
      );
      const { code, stdout, stderr } = sherlock(['runbooks'], { SHERLOCK_RUNBOOKS_DIR: dir });
      expect(code).toBe(1);
      expect(stdout).toContain('good — Good one');
      expect(stderr.trim()).toBe(`sherlock: runbook not loaded: ${join(dir, 'bad.yaml')}: params.p.default: default 9 is above max 5`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
