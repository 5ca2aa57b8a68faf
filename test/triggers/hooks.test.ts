// The incident-tool webhooks through the real API and a real Redis, with a
// heartbeat-only node (no worker: the runs are queued, never executed):
// Alertmanager v4, PagerDuty v3 (HMAC signatures, rotation) and the generic
// hook; mapping rules, idempotent retries, resolved and unmatched alerts,
// disabled receivers, a refused rules file, and config validation.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TriggerConfigError } from '../../src/triggers/settings.js';
import { parseHooksConfig } from '../../src/triggers/hooks/config.js';
import { hostPart } from '../../src/triggers/hooks/mapping.js';
import { Client, fakeNode, isJsonError, startStack, type Stack } from '../server/harness.js';
import { redisServerChildren } from '../helpers/redis.js';

const NODE = 'web-1';
const AM_TOKEN = 'am-token-0123456789';
const PD_SECRET = 'pd-secret-abcdef';
const PD_OLD_SECRET = 'pd-secret-old';
const GENERIC_SECRET = 'generic-secret-xyz';

const CONFIG = `
rules:
  - name: cpu
    match:
      labels:
        alertname: /^(HighCPU|CPUThrottling)$/
    runbook: high-cpu
    params:
      service: "\${labels.service}"
      frequency: 49
    nodes: "\${labels.instance}"
    duration: 5s
  - name: pagerduty-api
    match:
      tool: pagerduty
      fields:
        service: API Service
    runbook: health-check
    nodes: [web-1]
  - name: generic-disk
    match:
      tool: generic
      labels:
        kind: disk
    runbook: disk-io
    nodes: "\${labels.host}"
`;

// Alertmanager webhook v4, as in the Alertmanager docs (configuration.md, <webhook_config>).
function amPayload(status: 'firing' | 'resolved', alerts: { alertname: string; fingerprint: string; status?: 'firing' | 'resolved'; instance?: string }[]) {
  return {
    version: '4',
    groupKey: '{}/{team="web"}:{alertname="HighCPU"}',
    truncatedAlerts: 0,
    status,
    receiver: 'sherlock',
    groupLabels: { alertname: 'HighCPU' },
    commonLabels: { team: 'web' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: alerts.map((a) => ({
      status: a.status ?? status,
      labels: { alertname: a.alertname, instance: a.instance ?? 'web-1:9100', job: 'node', service: 'nginx.service', team: 'web' },
      annotations: { summary: `${a.alertname} on ${a.instance ?? 'web-1:9100'}`, description: 'CPU above 90% for 5m' },
      startsAt: '2026-11-24T17:00:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: `http://prometheus.example:9090/graph?g0.expr=${a.alertname}`,
      fingerprint: a.fingerprint,
    })),
  };
}

// PagerDuty webhooks v3, as in PagerDuty's "V3 Webhooks" docs (incident event).
function pdPayload(eventId: string, eventType: string, incident = 'PGR0VU2', service = 'API Service') {
  return {
    event: {
      id: eventId,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: '2026-11-24T17:45:22.169Z',
      agent: {
        html_url: 'https://acme.pagerduty.com/users/PLH1HKV',
        id: 'PLH1HKV',
        self: 'https://api.pagerduty.com/users/PLH1HKV',
        summary: 'Tenex Engineer',
        type: 'user_reference',
      },
      client: null,
      data: {
        id: incident,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/${incident}`,
        html_url: `https://acme.pagerduty.com/incidents/${incident}`,
        number: 2,
        status: eventType === 'incident.resolved' ? 'resolved' : 'triggered',
        incident_key: 'd3640fbd41094207a1c11e58e46b1662',
        created_at: '2026-11-24T17:40:27Z',
        title: 'A little bump in the road',
        service: {
          html_url: 'https://acme.pagerduty.com/services/PF9KMXH',
          id: 'PF9KMXH',
          self: 'https://api.pagerduty.com/services/PF9KMXH',
          summary: service,
          type: 'service_reference',
        },
        assignees: [],
        escalation_policy: { id: 'PE1U9CH', summary: 'Default', type: 'escalation_policy_reference' },
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  };
}

const sign = (secret: string, body: string) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function auditEntries(admin: Client, action: string) {
  const reply = await admin.get('/v1/audit?limit=1000');
  expect(reply.status).toBe(200);
  const entries = (reply.body.entries ?? reply.body.items ?? reply.body) as { action: string; actor: string; subject: string; details?: any }[];
  return entries.filter((e) => e.action === action);
}

describe('incident webhooks (enabled)', () => {
  let stack: Stack;
  let dir: string;
  let node: { stop(): void; ready: Promise<void> };
  let anon: Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-hooks-'));
    writeFileSync(join(dir, 'hooks.yaml'), CONFIG);
    stack = await startStack([], {
      env: {
        SHERLOCK_ALERTMANAGER_TOKEN: AM_TOKEN,
        SHERLOCK_PAGERDUTY_WEBHOOK_SECRET: PD_SECRET,
        SHERLOCK_GENERIC_HOOK_SECRET: GENERIC_SECRET,
        SHERLOCK_HOOKS_CONFIG: join(dir, 'hooks.yaml'),
      },
    });
    node = fakeNode(stack.conn, NODE);
    await node.ready;
    anon = stack.admin.withToken(undefined);
  });

  afterAll(async () => {
    node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  const am = (body: unknown, token: string | null = AM_TOKEN) => anon.post('/v1/hooks/alertmanager', body, { token });

  it("Alertmanager firing: one run of the mapped runbook on the alert's node, linked back to the alert", async () => {
    const reply = await am(amPayload('firing', [{ alertname: 'HighCPU', fingerprint: 'a1b2c3d4e5f60001' }]));
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ started: 1, matched: true, results: [{ alert: 'a1b2c3d4e5f60001', status: 'started', rule: 'cpu' }] });
    const run = (await stack.admin.run(reply.body.runId)) as any;
    expect(run.requestedBy).toBe('alertmanager:{}/{team="web"}:{alertname="HighCPU"}');
    expect(run.plan.nodes).toEqual([NODE]);
    expect(run.plan.runbook).toBe('high-cpu');
    expect(run.plan.params).toMatchObject({ service: 'nginx.service', frequency: 49 });
    expect(run.plan.durationMs).toBe(5000);
    expect(run.plan.reason).toContain('a1b2c3d4e5f60001');
    expect(run.plan.reason).toContain('http://prometheus.example:9090/graph?g0.expr=HighCPU');
    const created = (await auditEntries(stack.admin, 'run.create')).filter((e) => e.subject === reply.body.runId);
    expect(created).toHaveLength(1);
    expect(created[0]!.details.origin).toMatchObject({
      tool: 'alertmanager',
      alert: 'a1b2c3d4e5f60001',
      url: 'http://prometheus.example:9090/graph?g0.expr=HighCPU',
    });
  });

  it('the same delivery twice (and three at once) starts one run; duplicates answer 202 with its id', async () => {
    const payload = amPayload('firing', [{ alertname: 'CPUThrottling', fingerprint: 'dup0000000000001' }]);
    const first = await am(payload);
    expect(first.status).toBe(202);
    expect(first.body.started).toBe(1);
    const again = await am(payload);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ started: 0, runId: first.body.runId, results: [{ status: 'duplicate', runId: first.body.runId }] });

    const concurrent = amPayload('firing', [{ alertname: 'CPUThrottling', fingerprint: 'dup0000000000002' }]);
    const replies = await Promise.all([am(concurrent), am(concurrent), am(concurrent)]);
    expect(replies.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(replies.reduce((n, r) => n + r.body.started, 0)).toBe(1);
    expect(new Set(replies.map((r) => r.body.runId)).size).toBe(1);
    const created = (await auditEntries(stack.admin, 'run.create')).filter((e) => ['dup0000000000001', 'dup0000000000002'].includes(e.details?.origin?.alert));
    expect(created).toHaveLength(2);
  });

  it('resolved alerts start nothing; a mixed group starts only the firing ones', async () => {
    const resolved = await am(amPayload('resolved', [{ alertname: 'HighCPU', fingerprint: 'res0000000000001' }]));
    expect(resolved.status).toBe(202);
    expect(resolved.body).toMatchObject({ started: 0, results: [{ status: 'resolved' }] });
    const mixed = await am(
      amPayload('firing', [
        { alertname: 'HighCPU', fingerprint: 'mix0000000000001', status: 'resolved' },
        { alertname: 'HighCPU', fingerprint: 'mix0000000000002' },
      ]),
    );
    expect(mixed.status).toBe(202);
    expect(mixed.body.started).toBe(1);
    expect(mixed.body.results.map((r: { status: string }) => r.status)).toEqual(['resolved', 'started']);
  });

  it('a bad or missing bearer token is 401, before the body is looked at', async () => {
    for (const token of ['wrong', null, `${AM_TOKEN}x`]) {
      const reply = await am(amPayload('firing', [{ alertname: 'HighCPU', fingerprint: 'bad0000000000001' }]), token);
      expect(reply.status).toBe(401);
      expect(isJsonError(reply)).toBe(true);
    }
    const garbage = await anon.call('POST', '/v1/hooks/alertmanager', { rawBody: '{not json', contentType: 'application/json', token: 'wrong' });
    expect(garbage.status).toBe(401);
    const bad = await anon.call('POST', '/v1/hooks/alertmanager', { rawBody: '{not json', contentType: 'application/json', token: AM_TOKEN });
    expect(bad.status).toBe(400);
    expect(isJsonError(bad)).toBe(true);
    const wrongVersion = await am({ ...amPayload('firing', []), version: '3' });
    expect(wrongVersion.status).toBe(400);
    expect(wrongVersion.body.error.message).toContain('version');
  });

  it('an unmatched alert is acknowledged (202 matched: false) and recorded in the audit log', async () => {
    const reply = await am(amPayload('firing', [{ alertname: 'DiskFull', fingerprint: 'unm0000000000001' }]));
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ started: 0, matched: false, results: [{ status: 'unmatched' }] });
    const unmatched = (await auditEntries(stack.admin, 'hook.unmatched')).filter((e) => e.subject === 'unm0000000000001');
    expect(unmatched).toHaveLength(1);
    expect(unmatched[0]!.actor).toBe('alertmanager:{}/{team="web"}:{alertname="HighCPU"}');
    expect(unmatched[0]!.details).toMatchObject({ tool: 'alertmanager', labels: { alertname: 'DiskFull' } });
  });

  it("a matched alert whose node is not live fails to start with the planner's error, audited, and can be retried", async () => {
    const payload = amPayload('firing', [{ alertname: 'HighCPU', fingerprint: 'off0000000000001', instance: 'web-9:9100' }]);
    const reply = await am(payload);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(isJsonError(reply)).toBe(true);
    expect((await auditEntries(stack.admin, 'hook.failed')).some((e) => e.subject === 'off0000000000001')).toBe(true);
    const later = fakeNode(stack.conn, 'web-9');
    try {
      await later.ready;
      const retry = await am(payload);
      expect(retry.status).toBe(202);
      expect(retry.body.started).toBe(1);
    } finally {
      later.stop();
    }
  });

  const pd = (body: string, signature: string | undefined) =>
    anon.call('POST', '/v1/hooks/pagerduty', {
      rawBody: body,
      contentType: 'application/json',
      token: null,
      headers: signature ? { 'x-pagerduty-signature': signature } : {},
    });

  it('PagerDuty incident.triggered: signature rotation (second signature valid) accepted; one run per event id', async () => {
    const body = JSON.stringify(pdPayload('01DEN1HJTF1NGBA2QH2NP8YK3B', 'incident.triggered'));
    const reply = await pd(body, `${sign(PD_OLD_SECRET, body)},${sign(PD_SECRET, body)}`);
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ started: 1, matched: true, results: [{ alert: 'PGR0VU2', rule: 'pagerduty-api' }] });
    const run = (await stack.admin.run(reply.body.runId)) as any;
    expect(run.requestedBy).toBe('pagerduty:PGR0VU2');
    expect(run.plan.runbook).toBe('health-check');
    expect(run.plan.nodes).toEqual([NODE]);
    expect(run.plan.reason).toContain('PGR0VU2');
    expect(run.plan.reason).toContain('https://acme.pagerduty.com/incidents/PGR0VU2');

    const again = await pd(body, sign(PD_SECRET, body));
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ started: 0, runId: reply.body.runId });
  });

  it('PagerDuty: a bad, missing or stale signature is 401; resolved and other events start nothing', async () => {
    const body = JSON.stringify(pdPayload('01DEN1HJTF1NGBA2QH2NP8YK3C', 'incident.triggered', 'PXYZ123'));
    expect((await pd(body, sign(PD_OLD_SECRET, body))).status).toBe(401);
    expect((await pd(body, undefined)).status).toBe(401);
    expect((await pd(body, `v1=${'0'.repeat(64)}`)).status).toBe(401);
    expect((await pd(`${body} `, sign(PD_SECRET, body))).status).toBe(401); // the body changed after signing
    expect((await pd('{not json', sign(PD_OLD_SECRET, '{not json'))).status).toBe(401); // verified before parsing

    for (const [id, type] of [
      ['01DEN1HJTF1NGBA2QH2NP8YK3D', 'incident.resolved'],
      ['01DEN1HJTF1NGBA2QH2NP8YK3E', 'incident.acknowledged'],
    ] as const) {
      const b = JSON.stringify(pdPayload(id, type));
      const reply = await pd(b, sign(PD_SECRET, b));
      expect(reply.status).toBe(202);
      expect(reply.body.started).toBe(0);
    }
  });

  const generic = (body: unknown, secret = GENERIC_SECRET) => anon.post('/v1/hooks/generic', body, { token: null, headers: { 'x-sherlock-secret': secret } });

  it('generic hook: shared secret, firing starts the mapped run once, resolved starts none', async () => {
    const alert = {
      id: 'opsgenie-70413a06',
      status: 'firing',
      labels: { kind: 'disk', host: 'web-1' },
      url: 'https://acme.app.opsgenie.com/alert/detail/70413a06',
      title: 'Disk latency',
    };
    expect((await generic(alert, 'nope')).status).toBe(401);
    const reply = await generic(alert);
    expect(reply.status).toBe(202);
    expect(reply.body.started).toBe(1);
    const run = (await stack.admin.run(reply.body.runId)) as any;
    expect(run.requestedBy).toBe('hook:opsgenie-70413a06');
    expect(run.plan.runbook).toBe('disk-io');
    expect(run.plan.reason).toContain('https://acme.app.opsgenie.com/alert/detail/70413a06');
    expect((await generic(alert)).body).toMatchObject({ started: 0, runId: reply.body.runId });
    expect((await generic({ ...alert, id: 'opsgenie-2', status: 'resolved' })).body.started).toBe(0);
    const invalid = await generic({ id: 'x', status: 'maybe' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain('status');
  });
});

describe('incident webhooks (disabled or misconfigured)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-hooks-bad-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  it('each receiver answers 404 while its secret is not configured', async () => {
    const stack = await startStack([], { env: {} });
    try {
      const anon = stack.admin.withToken(undefined);
      for (const path of ['/v1/hooks/alertmanager', '/v1/hooks/pagerduty', '/v1/hooks/generic']) {
        const reply = await anon.post(path, { any: 1 }, { token: AM_TOKEN });
        expect(reply.status).toBe(404);
        expect(isJsonError(reply)).toBe(true);
      }
    } finally {
      await stack.stop();
    }
  });

  it('a refused mapping file refuses the start, naming the file and the field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - runbook: high-cpu\n    match: {labels: {alertname: "/([/"}}\n    nodes: web-1\n');
    const start = startStack([], { env: { SHERLOCK_ALERTMANAGER_TOKEN: AM_TOKEN, SHERLOCK_HOOKS_CONFIG: bad } });
    await expect(start).rejects.toThrow(TriggerConfigError);
    await expect(start).rejects.toThrow(`${bad}: rules.0.match.labels.alertname: invalid regular expression`);
    // startStack stopped its Redis on the way out: nothing is left behind.
    expect(redisServerChildren()).toEqual([]);
  });
});

describe('hooks config validation', () => {
  it('accepts the documented shapes', () => {
    const result = parseHooksConfig(CONFIG);
    expect(result.ok).toBe(true);
  });

  it('errors name the file and the field', () => {
    const cases: [string, string][] = [
      ['rules:\n  - match: {}\n    nodes: all\n', 'rules.0.runbook'],
      ['rules:\n  - runbook: high-cpu\n    nodes: 42\n', 'rules.0.nodes'],
      ['rules:\n  - runbook: high-cpu\n    nodes: all\n    match: {labels: {alertname: "/([/"}}\n', 'rules.0.match.labels.alertname'],
      ['rules:\n  - runbook: high-cpu\n    nodes: all\n    params: {service: "${labels}"}\n', 'rules.0.params.service'],
      ['rules:\n  - runbook: high-cpu\n    nodes: all\n    surprise: 1\n', 'rules.0'],
      ['rules:\n  - runbook: a\n    nodes: all\n  - runbook: b\n    nodes: all\n    match: {tool: nagios}\n', 'rules.1.match.tool'],
      ['rules: [\n', 'invalid YAML'],
    ];
    for (const [text, field] of cases) {
      const result = parseHooksConfig(text, '/etc/sherlock/hooks.yaml');
      expect(result.ok, text).toBe(false);
      if (!result.ok) {
        expect(result.problems.join('\n')).toContain('/etc/sherlock/hooks.yaml');
        expect(result.problems.join('\n')).toContain(field);
      }
    }
  });

  it('nodes take the host part of an instance', () => {
    expect(hostPart('web-1:9100')).toBe('web-1');
    expect(hostPart('Web-1.example.com')).toBe('web-1.example.com');
    expect(hostPart('[::1]:9100')).toBe('::1');
  });
});
