// `sherlock rules check FILE...` as a user runs it (the built CLI): each rule
// loaded or disabled with the reason, later files applied over earlier ones,
// exit 1 with file, line, rule and column on a syntax error, 2 on bad usage.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sherlockBin } from '../helpers/kernel.js';

const sherlock = (...args: string[]) => spawnSync('node', [sherlockBin, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('sherlock rules check', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-rules-check-'));
    writeFileSync(
      join(dir, 'base.yaml'),
      `
- list: editors
  items: [vi, nano]
- rule: Editor run
  desc: x
  condition: evt.type = execve and proc.name in (editors)
  output: editor %proc.name
  priority: INFO
- rule: Pod exec
  desc: x
  condition: evt.type = execve and k8s.ns.name = prod
  output: x
  priority: NOTICE
`,
    );
    writeFileSync(
      join(dir, 'local.yaml'),
      `
- rule: Editor run
  enabled: false
`,
    );
    writeFileSync(
      join(dir, 'broken.yaml'),
      `
- rule: Broken
  desc: x
  condition: evt.type = execve and (proc.name = vi
  output: x
  priority: WARNING
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints each rule as loaded or disabled with why, and exits 0', { timeout: 60_000 }, () => {
    const r = sherlock('rules', 'check', join(dir, 'base.yaml'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^loaded {3}Editor run {2}\(.*base\.yaml:4, informational\)$/m);
    expect(r.stdout).toMatch(/^disabled Pod exec — field k8s\.ns\.name is not available/m);
    expect(r.stdout).toMatch(/2 rules: 1 loaded, 1 disabled, 0 with errors/);
  });

  it('applies later files over earlier ones', { timeout: 60_000 }, () => {
    const r = sherlock('rules', 'check', join(dir, 'base.yaml'), join(dir, 'local.yaml'), '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rules.find((s: { rule: string }) => s.rule === 'Editor run')).toMatchObject({ state: 'disabled', reason: 'enabled: false in the rules file' });
  });

  it('exits 1 naming file, line, rule and column on a syntax error; 2 on bad usage', { timeout: 120_000 }, () => {
    const r = sherlock('rules', 'check', join(dir, 'broken.yaml'));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${join(dir, 'broken.yaml')}:2: rule Broken: condition, column 38: expected ")" to close the "(" at 23`);
    const missing = sherlock('rules', 'check', join(dir, 'nope.yaml'));
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain('nope.yaml: cannot read: no such file');
    expect(sherlock('rules', 'check').status).toBe(2);
    expect(sherlock('rules', 'frob').stderr).toMatch(/unknown rules command "frob"/);
  });
});
