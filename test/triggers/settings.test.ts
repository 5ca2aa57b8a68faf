// The trigger settings from the Sherlock config file and the environment:
// file-only secrets work end to end (real API, Redis, signed requests), env
// wins over the file, and every kind of bad config refuses the start with a
// message that names the file (or env var) and the field; also from the CLI.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTriggerSettings, TRIGGER_ENV, TriggerConfigError, type TriggerSources } from '../../src/triggers/settings.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { setLogLevel, setLogSink, type LogLevel } from '../../src/util/logger.js';
import { projectRoot } from '../../src/util/paths.js';
import { redisServerChildren } from '../helpers/redis.js';
import { distSkipReason, fakeNode, sherlockBin, startStack, type Stack } from '../server/harness.js';

const runbooks = RunbookCatalog.load(join(projectRoot, 'runbooks'));
let dir: string;
let count = 0;

/** A config file in the test's temp dir (mode 0600 unless told). */
function configFile(text: string, mode = 0o600): string {
  const path = join(dir, `sherlock-${++count}.yaml`);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
}

const load = (sources: TriggerSources) => loadTriggerSettings({ env: {}, ...sources }, runbooks);

/** The problems a refused config reports (fails the test if it was accepted). */
function refusal(sources: TriggerSources): string {
  try {
    load(sources);
  } catch (err) {
    expect(err).toBeInstanceOf(TriggerConfigError);
    return (err as Error).message;
  }
  throw new Error('the config was accepted');
}

const FULL = `
triggers:
  slack:
    signingSecret: file-signing-secret
    mattermostToken: file-mm-token
    publicUrl: https://sherlock.example.test/
    aliases: {lat: intermittent-latency, Burn: high-cpu}
    allow:
      high-cpu: {users: [alice], channels: [ops]}
  alertmanager: {token: file-am-token}
  pagerduty: {webhookSecret: file-pd-secret}
  generic: {secret: file-generic-secret}
  hooks:
    rules:
      - name: cpu
        match: {labels: {alertname: HighCPU}}
        runbook: high-cpu
        params: {service: "\${labels.service}", frequency: 49}
        nodes: "\${labels.instance}"
        duration: 5s
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sherlock-settings-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('trigger settings: file and environment', () => {
  it('everything from the file alone', () => {
    const s = load({ configFile: configFile(FULL) });
    expect(s.chatops).toMatchObject({
      signingSecret: 'file-signing-secret',
      mattermostToken: 'file-mm-token',
      publicUrl: 'https://sherlock.example.test',
      allow: { 'high-cpu': { users: ['alice'], channels: ['ops'] } },
    });
    // Configured aliases join the built-in ones, lower-cased as the grammar reads them.
    expect(s.chatops.aliases).toMatchObject({ lat: 'intermittent-latency', burn: 'high-cpu', cpu: 'high-cpu' });
    expect(s.hooks).toMatchObject({ alertmanagerToken: 'file-am-token', pagerdutySecret: 'file-pd-secret', genericSecret: 'file-generic-secret' });
    expect(s.hooks.config.rules).toHaveLength(1);
    expect(s.hooks.config.rules[0]).toMatchObject({ name: 'cpu', runbook: 'high-cpu', duration: '5s' });
  });

  it('no file and no env: every receiver off, the built-in aliases', () => {
    const s = load({});
    expect(s.chatops.signingSecret).toBeUndefined();
    expect(s.chatops.mattermostToken).toBeUndefined();
    expect(s.chatops.aliases.latency).toBe('intermittent-latency');
    expect(s.hooks.alertmanagerToken).toBeUndefined();
    expect(s.hooks.pagerdutySecret).toBeUndefined();
    expect(s.hooks.genericSecret).toBeUndefined();
    expect(s.hooks.config.rules).toEqual([]);
  });

  it('each env var overrides its file field (env wins); an empty one does not', () => {
    const rules = configFile('rules:\n  - runbook: disk-io\n    nodes: all\n');
    const env: NodeJS.ProcessEnv = {
      SHERLOCK_SLACK_SIGNING_SECRET: 'env-signing-secret',
      SHERLOCK_MATTERMOST_TOKEN: ' env-mm-token ',
      SHERLOCK_PUBLIC_URL: 'https://env.example.test',
      SHERLOCK_CHATOPS_ALIASES: '{"slow": "intermittent-latency"}',
      SHERLOCK_CHATOPS_ALLOW: '{"disk-io": {"channels": ["storage"]}}',
      SHERLOCK_ALERTMANAGER_TOKEN: 'env-am-token',
      SHERLOCK_PAGERDUTY_WEBHOOK_SECRET: 'env-pd-secret',
      SHERLOCK_GENERIC_HOOK_SECRET: 'env-generic-secret',
      SHERLOCK_HOOKS_CONFIG: rules,
      SHERLOCK_REPORT_LINK_KEY: 'env-report-link-key-0123456789abcdef',
      SHERLOCK_REPORT_LINK_TTL: '2h',
      SHERLOCK_REPORT_LINKS: 'on',
    };
    expect(Object.keys(env).sort()).toEqual(Object.keys(TRIGGER_ENV).sort()); // every variable is covered here
    const s = load({ configFile: configFile(FULL), env });
    expect(s.chatops).toMatchObject({
      signingSecret: 'env-signing-secret',
      mattermostToken: 'env-mm-token',
      publicUrl: 'https://env.example.test',
      allow: { 'disk-io': { channels: ['storage'] } },
    });
    expect(s.chatops.allow).not.toHaveProperty('high-cpu');
    expect(s.chatops.aliases.slow).toBe('intermittent-latency');
    expect(s.chatops.aliases).not.toHaveProperty('lat'); // the env var replaces the file's aliases
    expect(s.hooks).toMatchObject({ alertmanagerToken: 'env-am-token', pagerdutySecret: 'env-pd-secret', genericSecret: 'env-generic-secret' });
    expect(s.hooks.config.rules.map((r) => r.runbook)).toEqual(['disk-io']);
    expect(s.reportLinks).toEqual({ key: 'env-report-link-key-0123456789abcdef', ttlMs: 2 * 3_600_000 });

    const blank = load({ configFile: configFile(FULL), env: { SHERLOCK_SLACK_SIGNING_SECRET: '  ', SHERLOCK_ALERTMANAGER_TOKEN: '' } });
    expect(blank.chatops.signingSecret).toBe('file-signing-secret');
    expect(blank.hooks.alertmanagerToken).toBe('file-am-token');
  });
});

describe('trigger settings: a bad config refuses the start', () => {
  it('an unreadable file, a directory, bad YAML', () => {
    const missing = join(dir, 'nope.yaml');
    expect(refusal({ configFile: missing })).toContain(`${missing}: cannot read: ENOENT`);
    const folder = join(dir, 'a-dir.yaml');
    mkdirSync(folder);
    expect(refusal({ configFile: folder })).toContain(`${folder}: not a regular file`);
    const yaml = configFile('triggers:\n  slack: [\n');
    expect(refusal({ configFile: yaml })).toMatch(new RegExp(`${yaml}: invalid YAML: .*line \\d+, column \\d+`));
    const hooks = join(dir, 'no-hooks.yaml');
    expect(refusal({ env: { SHERLOCK_HOOKS_CONFIG: hooks } })).toContain(`${hooks}: cannot read`);
  });

  it('unknown keys name the allowed ones and the closest', () => {
    const file = configFile('trigers: {}\n');
    expect(refusal({ configFile: file })).toContain(`${file}: unknown key "trigers" (did you mean "triggers"?); allowed: triggers`);
    const slack = configFile('triggers:\n  slack:\n    signingsecret: abc\n');
    expect(refusal({ configFile: slack })).toContain(
      `${slack}: triggers.slack: unknown key "signingsecret" (did you mean "signingSecret"?); allowed: signingSecret, mattermostToken, publicUrl, aliases, allow, reportLinks`,
    );
    const rule = configFile('triggers:\n  hooks:\n    rules:\n      - runbook: high-cpu\n        nodes: all\n        node: web-1\n');
    expect(refusal({ configFile: rule })).toContain(`${rule}: triggers.hooks.rules.0: unknown key "node" (did you mean "nodes"?)`);
    const section = configFile('triggers:\n  opsgenie: {secret: x}\n');
    expect(refusal({ configFile: section })).toContain(`${section}: triggers: unknown key "opsgenie"; allowed: slack, alertmanager, pagerduty, generic, hooks`);
  });

  it('bad types and values name the field', () => {
    const cases: [string, string][] = [
      ['triggers:\n  alertmanager: {token: 12345678}\n', 'triggers.alertmanager.token: must be text (quote it in YAML)'],
      ['triggers:\n  pagerduty: {webhookSecret: ""}\n', 'triggers.pagerduty.webhookSecret: must not be empty'],
      ['triggers:\n  slack: {publicUrl: "sherlock.example"}\n', 'triggers.slack.publicUrl: must be an http:// or https:// URL'],
      ['triggers:\n  slack: {allow: {high-cpu: {users: alice}}}\n', 'triggers.slack.allow.high-cpu.users'],
      ['triggers:\n  slack: {aliases: {run: high-cpu}}\n', 'triggers.slack.aliases.run: an alias may not be a command word'],
      ['triggers:\n  slack: {aliases: {"two words": high-cpu}}\n', 'triggers.slack.aliases.two words: an alias is one word'],
      ['triggers:\n  hooks: {rules: [{runbook: high-cpu, nodes: 42}]}\n', 'triggers.hooks.rules.0.nodes'],
      ['triggers: [1, 2]\n', 'triggers: Invalid input: expected object'],
      ['just text\n', 'Invalid input: expected object'],
    ];
    for (const [text, expected] of cases) {
      const file = configFile(text);
      const message = refusal({ configFile: file });
      expect(message, text).toContain(`${file}: ${expected}`);
    }
  });

  it('env vars: invalid JSON and bad values name the variable', () => {
    expect(refusal({ env: { SHERLOCK_CHATOPS_ALIASES: '{lat: intermittent-latency}' } })).toMatch(
      /SHERLOCK_CHATOPS_ALIASES: not valid JSON \(.+\); write it like \{"lat": "intermittent-latency"\}/,
    );
    expect(refusal({ env: { SHERLOCK_CHATOPS_ALLOW: "{'high-cpu': {}}" } })).toMatch(/SHERLOCK_CHATOPS_ALLOW: not valid JSON/);
    expect(refusal({ env: { SHERLOCK_CHATOPS_ALLOW: '{"high-cpu": {"users": "alice"}}' } })).toContain(
      'SHERLOCK_CHATOPS_ALLOW: high-cpu.users: Invalid input: expected array',
    );
    expect(refusal({ env: { SHERLOCK_CHATOPS_ALLOW: '["high-cpu"]' } })).toContain('SHERLOCK_CHATOPS_ALLOW: Invalid input: expected record');
    expect(refusal({ env: { SHERLOCK_PUBLIC_URL: 'ftp://x.example' } })).toContain('SHERLOCK_PUBLIC_URL: must be an http:// or https:// URL');
  });

  it('hook rules: unknown runbooks, undeclared params, bad literal values and durations', () => {
    const file = configFile(`
triggers:
  hooks:
    rules:
      - {runbook: high-cpu, nodes: all}
      - {runbook: disk-io, nodes: all, params: {sevice: "\${labels.service}"}}
      - {runbook: hgih-cpu, nodes: all}
      - {runbook: high-cpu, nodes: all, params: {frequency: 5000}}
      - {runbook: health-check, nodes: all, duration: 10m}
      - {runbook: health-check, nodes: all, duration: soon}
`);
    const message = refusal({ configFile: file });
    expect(message).toContain('refusing to start: 5 problems in the trigger settings:');
    expect(message).toContain(`${file}: triggers.hooks.rules.1.params.sevice: runbook disk-io has no param "sevice" (its params: service, comm, pid)`);
    expect(message).toContain(
      `${file}: triggers.hooks.rules.2.runbook: no runbook "hgih-cpu" (did you mean "high-cpu"? known: disk-io, health-check, high-cpu, intermittent-latency, restarts, suspicious-activity)`,
    );
    expect(message).toContain(`${file}: triggers.hooks.rules.3.params.frequency: 5000 is above the maximum 999`);
    expect(message).toContain(`${file}: triggers.hooks.rules.4.duration: 10m is outside 1s..1m (runbook health-check's maxDuration)`);
    expect(message).toContain(`${file}: triggers.hooks.rules.5.duration: "soon" is not a duration`);
    expect(message).not.toContain('rules.0');

    // The same checks for a rules file of its own (SHERLOCK_HOOKS_CONFIG): fields relative to it.
    const rules = configFile('rules:\n  - runbook: disk-oi\n    nodes: all\n');
    expect(refusal({ env: { SHERLOCK_HOOKS_CONFIG: rules } })).toContain(`${rules}: rules.0.runbook: no runbook "disk-oi" (did you mean "disk-io"?`);
  });

  it('hook rules must give the params a runbook requires', () => {
    const books = join(dir, 'runbooks');
    mkdirSync(books);
    writeFileSync(
      join(books, 'one-pid.yaml'),
      'name: one-pid\ntitle: One pid\ndescription: execs of one process\nparams:\n  pid: {type: int, required: true, min: 1}\ntarget: {pid: pid}\nsteps:\n  - capture: execsnoop\n',
    );
    const catalog = RunbookCatalog.load(books);
    expect(catalog.errors).toEqual([]);
    const file = configFile(
      'triggers:\n  hooks:\n    rules:\n      - {runbook: one-pid, nodes: all}\n      - {runbook: one-pid, nodes: all, params: {pid: "${labels.pid}"}}\n',
    );
    let message = '';
    try {
      loadTriggerSettings({ configFile: file, env: {} }, catalog);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`${file}: triggers.hooks.rules.0.params: runbook one-pid requires param "pid"`);
    expect(message).not.toContain('rules.1');
  });

  it('chat aliases and allow rules for unknown runbooks, from the file or the env', () => {
    const file = configFile('triggers:\n  slack:\n    aliases: {lat: intermitent-latency}\n    allow: {hihg-cpu: {users: [alice]}}\n');
    const message = refusal({ configFile: file });
    expect(message).toContain(`${file}: triggers.slack.aliases.lat: no runbook "intermitent-latency" (did you mean "intermittent-latency"?`);
    expect(message).toContain(`${file}: triggers.slack.allow.hihg-cpu: no runbook "hihg-cpu" (did you mean "high-cpu"?`);
    const env = refusal({ env: { SHERLOCK_CHATOPS_ALIASES: '{"x": "nothing-like-it"}', SHERLOCK_CHATOPS_ALLOW: '{"disk-oi": {}}' } });
    expect(env).toContain('SHERLOCK_CHATOPS_ALIASES: x: no runbook "nothing-like-it" (known: disk-io,');
    expect(env).toContain('SHERLOCK_CHATOPS_ALLOW: disk-oi: no runbook "disk-oi" (did you mean "disk-io"?');
  });

  it('a section that is wrong does not hide the runbook checks of the others', () => {
    const file = configFile('triggers:\n  slak: {}\n  hooks: {rules: [{runbook: hgih-cpu, nodes: all}]}\n');
    const message = refusal({ configFile: file });
    expect(message).toContain(`${file}: triggers: unknown key "slak" (did you mean "slack"?)`);
    expect(message).toContain(`${file}: triggers.hooks.rules.0.runbook: no runbook "hgih-cpu"`);
  });

  it('every problem at once: the file, the env vars and the rules file, one line each', () => {
    const file = configFile('triggers:\n  slack: {signingSecret: 42}\n');
    const rules = configFile('rules: [{runbook: nope, nodes: all}]\n');
    const message = refusal({ configFile: file, env: { SHERLOCK_CHATOPS_ALLOW: '{', SHERLOCK_HOOKS_CONFIG: rules } });
    const lines = message.split('\n');
    expect(lines[0]).toBe('refusing to start: 3 problems in the trigger settings:');
    expect(lines.slice(1)).toEqual([
      expect.stringContaining(`${file}: triggers.slack.signingSecret`),
      expect.stringContaining('SHERLOCK_CHATOPS_ALLOW: not valid JSON'),
      expect.stringContaining(`${rules}: rules.0.runbook: no runbook "nope"`),
    ]);
  });
});

describe('trigger settings: a config file holding secrets', () => {
  const warnings: string[] = [];
  beforeAll(() => {
    setLogLevel('warn');
    setLogSink((level: LogLevel, msg: string) => {
      if (level === 'warn') warnings.push(msg);
    });
  });
  afterAll(() => {
    setLogSink(undefined);
    setLogLevel('error');
  });

  it('is warned about when group or others may read it', () => {
    warnings.length = 0;
    const open = configFile('triggers:\n  alertmanager: {token: t0ken-t0ken}\n', 0o644);
    load({ configFile: open });
    expect(warnings).toEqual([expect.stringContaining(`${open} holds secrets and is readable by group or others (mode 0644)`)]);

    warnings.length = 0;
    load({ configFile: configFile('triggers:\n  alertmanager: {token: t0ken-t0ken}\n', 0o600) });
    load({ configFile: configFile('triggers:\n  slack: {aliases: {lat: intermittent-latency}}\n', 0o644) }); // no secrets in it
    expect(warnings).toEqual([]);
  });
});

describe('trigger settings end to end: secrets only in the file', () => {
  const SIGNING = 'slack-secret-from-file';
  let stack: Stack;
  let node: { stop(): void; ready: Promise<void> };

  beforeAll(async () => {
    const file = configFile(`
triggers:
  slack:
    signingSecret: ${SIGNING}
    aliases: {lat: intermittent-latency}
  alertmanager: {token: am-token-from-file}
  hooks:
    rules:
      - match: {labels: {alertname: DiskSlow}}
        runbook: disk-io
        nodes: "\${labels.instance}"
`);
    // The env overrides one of them: the file's Alertmanager token no longer works.
    stack = await startStack([], { configFile: file, env: { SHERLOCK_ALERTMANAGER_TOKEN: 'am-token-from-env' } });
    node = fakeNode(stack.conn, 'disk-node');
    await node.ready;
  }, 30_000);

  afterAll(async () => {
    node?.stop();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  const slack = (text: string, secret: string) => {
    const body = new URLSearchParams({ user_id: 'U1', user_name: 'alice', channel_id: 'C1', channel_name: 'ops', command: '/sherlock', text }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    return fetch(`${stack.api.url}/v1/chatops/slack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(secret, ts, body) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
  };

  it('a Slack-signed request is accepted with the signing secret only in the file; its aliases apply', async () => {
    const res = await slack('help', SIGNING);
    expect(res.status).toBe(200);
    const reply = (await res.json()) as { response_type: string; text: string };
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('lat → intermittent-latency');
    expect((await slack('runbooks', 'some-other-secret')).status).toBe(401);
  });

  it("Alertmanager: the bearer token comes from the env over the file; the file's rules map the alert", async () => {
    const anon = stack.admin.withToken(undefined);
    const payload = {
      version: '4',
      groupKey: '{}:{alertname="DiskSlow"}',
      status: 'firing',
      receiver: 'sherlock',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'DiskSlow', instance: 'disk-node:9100' },
          annotations: {},
          startsAt: '2026-11-24T17:00:00.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example:9090/graph',
          fingerprint: 'settings00000001',
        },
      ],
    };
    expect((await anon.post('/v1/hooks/alertmanager', payload, { token: 'am-token-from-file' })).status).toBe(401);
    const reply = await anon.post('/v1/hooks/alertmanager', payload, { token: 'am-token-from-env' });
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ started: 1, matched: true });
    const run = (await stack.admin.run(reply.body.runId)) as any;
    expect(run.plan.runbook).toBe('disk-io');
    expect(run.plan.nodes).toEqual(['disk-node']);
    // Not configured anywhere: off.
    expect((await anon.post('/v1/hooks/pagerduty', { any: 1 }, { token: null })).status).toBe(404);
  });

  it('a bad config file: startApiServer refuses before it opens anything', async () => {
    const bad = configFile('triggers:\n  slack: {aliases: {lat: nope}}\n');
    await expect(startStack([], { configFile: bad, env: {} })).rejects.toThrow(`${bad}: triggers.slack.aliases.lat: no runbook "nope"`);
  });
});

const distSkip = distSkipReason();

describe.skipIf(distSkip)(`sherlock api|up --config${distSkip ? ` (skipped: ${distSkip})` : ''}`, () => {
  /** The compiled CLI; it must exit on its own (a started server would wait for a signal: killed after 20 s). */
  function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    const base: NodeJS.ProcessEnv = { ...process.env, SHERLOCK_LOG: 'error', SHERLOCK_STATE_DIR: join(dir, 'state') };
    for (const name of [...Object.keys(TRIGGER_ENV), 'SHERLOCK_CONFIG', 'SHERLOCK_ADMIN_TOKEN', 'REDIS_URL']) delete base[name];
    return spawnSync(process.execPath, [sherlockBin, ...args], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', env: { ...base, ...env } });
  }

  const BAD =
    'triggers:\n  hooks:\n    rules:\n      - {runbook: high-cpu, nodes: all}\n      - {runbook: hgih-cpu, nodes: all}\n  slack: {allow: {nope: {}}}\n';

  it('sherlock api --config bad.yaml exits 78 printing every problem, no stack trace', () => {
    const bad = configFile(BAD);
    const result = cli(['api', '--config', bad, '--redis', 'redis://127.0.0.1:1', '--port', '0']);
    expect(result.signal).toBeNull();
    expect(result.status).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('sherlock: refusing to start: 2 problems in the trigger settings:');
    expect(result.stderr).toContain(`  ${bad}: triggers.hooks.rules.1.runbook: no runbook "hgih-cpu" (did you mean "high-cpu"?`);
    expect(result.stderr).toContain(`  ${bad}: triggers.slack.allow.nope: no runbook "nope"`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('SHERLOCK_CONFIG names the file too; sherlock up refuses before it starts Redis', () => {
    const bad = configFile(BAD);
    const api = cli(['api', '--redis', 'redis://127.0.0.1:1', '--port', '0'], { SHERLOCK_CONFIG: bad });
    expect(api.status).toBe(78);
    expect(api.stderr).toContain(`${bad}: triggers.hooks.rules.1.runbook`);

    const up = cli(['up', '--config', bad, '--port', '0', '--state-dir', join(dir, 'up-state')]);
    expect(up.status).toBe(78);
    expect(up.stderr).toContain(`${bad}: triggers.slack.allow.nope`);
    expect(up.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'up-state'))).toBe(false); // no state dir, so no Redis data: nothing started

    const missing = cli(['api', '--config', join(dir, 'missing.yaml'), '--redis', 'redis://127.0.0.1:1']);
    expect(missing.status).toBe(78);
    expect(missing.stderr).toContain(`${join(dir, 'missing.yaml')}: cannot read`);
    // The worker reads the file's redaction patterns: an unreadable file refuses its start too.
    const worker = cli(['worker', '--config', join(dir, 'missing.yaml'), '--redis', 'redis://127.0.0.1:1']);
    expect(worker.status).toBe(78);
    expect(worker.stderr).toContain(`${join(dir, 'missing.yaml')}: cannot read`);
  });
});
