// The operator's Falco rules from the Sherlock config file (falco.rules):
// paths relative to the file, the flag or environment winning over it, a bad
// section refused with what is allowed, and a worker started with a config
// whose rule file has a syntax error refusing to start, naming the file, the
// line, the rule and the column.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFalcoRulePaths, operatorFalcoRules } from '../../src/config/falco-rules.js';
import { distSkipReason, sherlockBin } from '../server/harness.js';

describe('falco.rules in the config file', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync('/tmp/sherlock-falco-config-');
    mkdirSync(join(dir, 'rules.d'));
    writeFileSync(join(dir, 'rules.d', 'ok.yaml'), '- rule: Ok\n  desc: x\n  condition: evt.type = execve\n  output: x\n  priority: NOTICE\n');
    writeFileSync(
      join(dir, 'broken.yaml'),
      '- macro: fine\n  condition: evt.type = execve\n\n- rule: Broken rule\n  desc: x\n  condition: fine and proc.name = = bash\n  output: x\n  priority: NOTICE\n',
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const config = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  it('reads files and directories, relative ones from the config file, and yields to the flag or environment', () => {
    const file = config('sherlock.yaml', `falco:\n  rules: [rules.d, /etc/falco/falco_rules.local.yaml]\n`);
    expect(loadFalcoRulePaths(file)).toEqual([join(dir, 'rules.d'), '/etc/falco/falco_rules.local.yaml']);
    expect(operatorFalcoRules([], file)).toEqual([join(dir, 'rules.d'), '/etc/falco/falco_rules.local.yaml']);
    expect(operatorFalcoRules(['/from/env.yaml'], file)).toEqual(['/from/env.yaml']);
    expect(loadFalcoRulePaths(config('none.yaml', 'redaction:\n  patterns: []\n'))).toEqual([]);
  });

  it('refuses a bad falco section, saying what is allowed', () => {
    expect(() => loadFalcoRulePaths(config('bad.yaml', 'falco:\n  rule: [a.yaml]\n'))).toThrow(/falco.*rule/);
    expect(() => loadFalcoRulePaths(config('bad2.yaml', 'falco:\n  rules: a.yaml\n'))).toThrow(/falco: rules: .*expected array/);
  });

  const dist = distSkipReason();
  it.skipIf(dist)(`a worker whose configured rule file has a syntax error does not start, and says where${dist ? ` (skipped: ${dist})` : ''}`, () => {
    const file = config('worker.yaml', `falco:\n  rules: [broken.yaml, rules.d]\n`);
    const env = { ...process.env, SHERLOCK_FALCO_RULES: '' };
    const out = spawnSync(process.execPath, [sherlockBin, 'worker', '--node', 'falco-config', '--redis', 'redis://127.0.0.1:1', '--config', file], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain(`${join(dir, 'broken.yaml')}:4: rule Broken rule: condition, column`);
    expect(out.stderr).toMatch(/falco\.rules/);
    expect(out.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
