// Runbooks on disk: every built-in one loads and expands with its defaults; a
// broken file (bad YAML, an unknown capture, a default out of bounds, bad
// settings, templates or rules) is rejected with its path and the failing
// field while the others load; reload() picks up fixes and new files.
import { copyFileSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ruleSchema } from '../../src/analysis/rules.js';
import { captures } from '../../src/captures/registry.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import { expandRunbook } from '../../src/runbooks/expand.js';
import { formatLoadError, parseRunbook } from '../../src/runbooks/loader.js';
import { projectRoot } from '../../src/util/paths.js';
import { paramsSchema } from '../../src/captures/params-schema.js';

const BUILT_IN = ['disk-io', 'health-check', 'high-cpu', 'intermittent-latency', 'restarts', 'suspicious-activity'];
const projectDir = join(projectRoot, 'runbooks');

/** A minimal valid runbook; `extra` is appended YAML, `replace` swaps text. */
function runbookText(name: string, body = ''): string {
  return `name: ${name}
title: Test ${name}
description: a runbook for tests
${body}`;
}

const validBody = `params:
  port:
    type: int
    min: 1
    max: 65535
target:
  port: port
steps:
  - capture: execsnoop
`;

describe('built-in runbooks', () => {
  const catalog = RunbookCatalog.load(projectDir);

  it('all load, without errors', () => {
    expect(catalog.errors.map(formatLoadError)).toEqual([]);
    expect(catalog.names()).toEqual(BUILT_IN);
  });

  it.each(BUILT_IN)('%s: a title and description to choose from, steps every capture accepts with the defaults', (name) => {
    const runbook = catalog.get(name)!;
    expect(runbook.title.length).toBeGreaterThan(3);
    expect(runbook.description.length).toBeGreaterThan(40);
    expect(runbook.limits.defaultDuration).toBeLessThanOrEqual(runbook.limits.maxDuration);
    const expanded = expandRunbook(catalog, { runbook: name });
    expect(expanded.steps.map((s) => s.capture)).toEqual(runbook.steps.map((s) => s.capture));
    for (const step of expanded.steps) expect(paramsSchema(captures.get(step.capture)!).safeParse(step.params).success).toBe(true);
    expect(expanded.durationMs).toBe(runbook.limits.defaultDuration);
    for (const rule of expanded.rules ?? []) expect(ruleSchema.safeParse(rule).success).toBe(true);
  });

  it('intermittent-latency covers the four families in one window', () => {
    const captures = catalog.get('intermittent-latency')!.steps.map((s) => s.capture);
    expect(captures).toEqual(
      expect.arrayContaining(['tcpconnlat', 'tcpretrans', 'tcpreset', 'tcprtt', 'profile', 'offcputime', 'runqlat', 'execsnoop', 'filetop']),
    );
    // and the causes behind latency: drops, throttling, lock waits
    expect(captures).toEqual(expect.arrayContaining(['tcpdrop', 'cputhrottle', 'lockwait']));
    // and the causes: failing calls and process ends
    expect(captures).toEqual(expect.arrayContaining(['syscallerrors', 'signals']));
  });

  it('the families of the other built-ins', () => {
    const of = (name: string) =>
      catalog
        .get(name)!
        .steps.map((s) => s.capture)
        .sort();
    expect(of('high-cpu')).toEqual(['cputhrottle', 'dmesg', 'execsnoop', 'lockwait', 'profile', 'runqlat', 'signals', 'syscallerrors', 'tcpdrop']);
    expect(of('disk-io')).toEqual(['biolatency', 'dmesg', 'filetop', 'fsfill', 'iothrottle', 'iotop', 'offcputime', 'reclaim']);
    // what the kernel said, where the causes above are errors, crashes and kills
    for (const name of ['restarts', 'intermittent-latency', 'health-check']) expect(of(name)).toContain('dmesg');
    expect(of('suspicious-activity')).toEqual(expect.arrayContaining(['execsnoop', 'opensnoop', 'tcpconnlat', 'signals', 'syscallerrors']));
    // exec, network, CPU and file I/O, all cheap ones
    expect(of('health-check')).toEqual(expect.arrayContaining(['execsnoop', 'tcpconnlat', 'profile', 'filetop']));
    expect(of('health-check')).not.toContain('opensnoop');
    // OOM kills and fatal signals, for baselines to learn
    expect(of('health-check')).toEqual(expect.arrayContaining(['oomkill', 'signals']));
  });

  it('suspicious-activity carries its rules with params filled in', () => {
    const expanded = expandRunbook(catalog, { runbook: 'suspicious-activity', params: { allowedPorts: '443, 8080' } });
    const names = expanded.rules!.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['shell-from-web-server', 'shadow-read', 'sensitive-open-refused', 'system-write', 'unexpected-port']));
    const port = expanded.rules!.find((r) => r.name === 'unexpected-port')!;
    expect(port.connect!.not![0]!.port).toEqual([443, 8080]);
  });
});

describe('broken runbook files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-runbooks-'));
    for (const f of readdirSync(projectDir)) if (f.endsWith('.yaml')) copyFileSync(join(projectDir, f), join(dir, f));
    cpSync(join(projectDir, 'falco'), join(dir, 'falco'), { recursive: true }); // the Falco rule files runbooks name
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (file: string, text: string) => writeFileSync(join(dir, file), text);
  const errorOf = (catalog: RunbookCatalog, file: string) => catalog.errors.find((e) => e.file === join(dir, file));

  const cases: { name: string; file: string; text: string; field: string | RegExp; mentions: (string | RegExp)[] }[] = [
    { name: 'bad YAML syntax', file: 'syntax.yaml', text: 'name: syntax\ntitle: [unclosed\n  description: x\n', field: '(yaml)', mentions: [/line \d+/] },
    {
      name: 'a duplicated key',
      file: 'dupkey.yaml',
      text: runbookText('dupkey', `${validBody}title: again\n`),
      field: '(yaml)',
      mentions: [/unique|duplicate/i],
    },
    {
      name: 'an unknown capture',
      file: 'unknown-capture.yaml',
      text: runbookText('unknown-capture', 'steps:\n  - capture: keylogger\n'),
      field: 'steps.0.capture',
      mentions: ['keylogger', 'execsnoop'],
    },
    {
      name: 'a param default above its max',
      file: 'bad-default.yaml',
      text: runbookText('bad-default', 'params:\n  port:\n    type: int\n    max: 65535\n    default: 70000\nsteps:\n  - capture: execsnoop\n'),
      field: 'params.port.default',
      mentions: ['70000', '65535'],
    },
    {
      name: 'an enum default not among its values',
      file: 'bad-enum.yaml',
      text: runbookText('bad-enum', 'params:\n  mode:\n    type: enum\n    values: [a, b]\n    default: c\nsteps:\n  - capture: execsnoop\n'),
      field: 'params.mode.default',
      mentions: ['"c"', 'a, b'],
    },
    {
      name: 'an unknown param type',
      file: 'bad-type.yaml',
      text: runbookText('bad-type', 'params:\n  n:\n    type: float\nsteps:\n  - capture: execsnoop\n'),
      field: /^params\.n/,
      mentions: ['string, int, duration, enum, bool'],
    },
    {
      name: 'a capture setting its capture rejects',
      file: 'bad-setting.yaml',
      text: runbookText('bad-setting', 'steps:\n  - capture: profile\n    params:\n      frequency: 100000\n'),
      field: 'steps.0.params.frequency',
      mentions: ['10000'],
    },
    {
      name: 'an unknown capture setting',
      file: 'bad-key.yaml',
      text: runbookText('bad-key', 'steps:\n  - capture: profile\n    params:\n      frequncy: 99\n'),
      field: 'steps.0.params',
      mentions: ['frequncy'],
    },
    {
      name: 'a template naming no param',
      file: 'bad-template.yaml',
      text: runbookText('bad-template', 'steps:\n  - capture: profile\n    params:\n      frequency: ${freq}\n'),
      field: 'steps.0.params.frequency',
      mentions: ['${freq}', 'params: none'],
    },
    {
      name: 'a default that makes a setting invalid',
      file: 'bad-filled.yaml',
      text: runbookText('bad-filled', 'params:\n  hz:\n    type: int\n    default: 0\nsteps:\n  - capture: profile\n    params:\n      frequency: ${hz}\n'),
      field: 'steps.0.params.frequency',
      mentions: [/>=\s*1|too small/i],
    },
    {
      name: 'a target naming an int param for unit',
      file: 'bad-target.yaml',
      text: runbookText('bad-target', validBody.replace('  port: port', '  unit: port')),
      field: 'target.unit',
      mentions: ['int', 'string'],
    },
    {
      name: 'a rule with two kinds',
      file: 'bad-rule.yaml',
      text: runbookText(
        'bad-rule',
        'steps:\n  - capture: execsnoop\n  - capture: opensnoop\nrules:\n  - name: both\n    title: Both\n    exec: { comm: sh }\n    open: { path: /etc/shadow }\n',
      ),
      field: 'rules.0',
      mentions: ['exactly one of exec, open or connect'],
    },
    {
      name: 'a rule whose capture is not a step',
      file: 'rule-no-step.yaml',
      text: runbookText('rule-no-step', 'steps:\n  - capture: execsnoop\nrules:\n  - name: shadow\n    title: Shadow\n    open: { path: /etc/shadow }\n'),
      field: 'rules.0.open',
      mentions: ['opensnoop'],
    },
    {
      name: 'a name unlike the file name',
      file: 'misnamed.yaml',
      text: runbookText('other-name', validBody),
      field: 'name',
      mentions: ['misnamed.yaml'],
    },
    {
      name: 'an unknown top-level field',
      file: 'extra-field.yaml',
      text: runbookText('extra-field', `${validBody}colour: red\n`),
      field: '',
      mentions: ['colour'],
    },
    {
      name: 'a maxDuration over the server limit',
      file: 'long.yaml',
      text: runbookText('long', `${validBody}limits:\n  maxDuration: 20m\n`),
      field: 'limits.maxDuration',
      mentions: ['20m', '10m'],
    },
    {
      name: 'a param named duration',
      file: 'duration-param.yaml',
      text: runbookText('duration-param', 'params:\n  duration:\n    type: duration\nsteps:\n  - capture: execsnoop\n'),
      field: 'params.duration',
      mentions: ['limits.defaultDuration'],
    },
    { name: 'not a mapping', file: 'list.yaml', text: '- a\n- b\n', field: '', mentions: ['mapping'] },
  ];

  it.each(cases)('$name: rejected with its path and the field, the others load', (c) => {
    write(c.file, c.text);
    const catalog = RunbookCatalog.load(dir);
    expect(catalog.names()).toEqual(BUILT_IN);
    const error = errorOf(catalog, c.file);
    expect(error, JSON.stringify(catalog.errors)).toBeDefined();
    if (typeof c.field === 'string') expect(error!.field).toBe(c.field);
    else expect(error!.field).toMatch(c.field);
    const line = formatLoadError(error!);
    expect(line.startsWith(join(dir, c.file))).toBe(true);
    for (const m of c.mentions) {
      if (typeof m === 'string') expect(line).toContain(m);
      else expect(line).toMatch(m);
    }
    expect(catalog.errors).toHaveLength(1);
  });

  it('a file with several problems lists each', () => {
    write(
      'many.yaml',
      runbookText(
        'many',
        'params:\n  p:\n    type: int\n    min: 5\n    max: 1\nsteps:\n  - capture: nope\n  - capture: profile\n    params: { frequency: 0 }\n',
      ),
    );
    const catalog = RunbookCatalog.load(dir);
    const error = errorOf(catalog, 'many.yaml')!;
    expect(error.issues.map((i) => i.field)).toEqual(expect.arrayContaining(['params.p.min', 'steps.0.capture']));
  });

  it('reload() picks up a fixed file and a new one, and drops a broken one', () => {
    write('extra.yaml', runbookText('extra', 'steps:\n  - capture: nope\n'));
    const catalog = RunbookCatalog.load(dir);
    expect(catalog.get('extra')).toBeUndefined();
    write('extra.yaml', runbookText('extra', validBody));
    write('fresh.yml', runbookText('fresh', validBody));
    write('high-cpu.yaml', 'name: high-cpu\n');
    const result = catalog.reload();
    expect(result.runbooks).toEqual(['disk-io', 'extra', 'fresh', 'health-check', 'intermittent-latency', 'restarts', 'suspicious-activity']);
    expect(result.errors.map((e) => e.file)).toEqual([join(dir, 'high-cpu.yaml')]);
    expect(result.errors[0]!.message).toMatch(/title|description|steps/);
    expect(catalog.get('extra')!.target).toEqual({ port: 'port' });
  });

  it('a missing directory is one error, not an exception', () => {
    const catalog = RunbookCatalog.load(join(dir, 'nope'));
    expect(catalog.names()).toEqual([]);
    expect(catalog.errors[0]!.message).toContain('cannot read the runbooks directory');
  });

  it('parseRunbook takes text directly (what the loader does per file)', () => {
    const loaded = parseRunbook(runbookText('inline', validBody), '/x/inline.yaml');
    expect('runbook' in loaded && loaded.runbook.limits).toEqual({ maxDuration: 600_000, defaultDuration: 10_000 });
  });
});
