// Rules without `nodes`: the alert's labels name its node (triggers.hooks.nodeLabels,
// default node, kubernetes_node, instance, hostname, host), through the real API,
// a real Redis and Alertmanager-shaped webhook payloads; an alert naming no live
// node is refused with a hook.failed audit naming the labels tried.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NODE_LABELS, parseHooksConfig } from '../../src/triggers/hooks/config.js';
import { Client, fakeNode, isJsonError, startStack, type Stack } from '../server/harness.js';
import { redisServerChildren } from '../helpers/redis.js';

const AM_TOKEN = 'am-token-0123456789';
const CONFIG = `
nodeLabels: [kubernetes_node, instance, host]
rules:
  - name: cpu
    match:
      labels:
        alertname: HighCPU
    runbook: high-cpu
    duration: 5s
`;

// Alertmanager webhook v4 (Alertmanager docs, <webhook_config>), one alert per delivery.
function amPayload(fingerprint: string, labels: Record<string, string>) {
  return {
    version: '4',
    groupKey: `{}:{alertname="HighCPU",fp="${fingerprint}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'sherlock',
    groupLabels: { alertname: 'HighCPU' },
    commonLabels: { alertname: 'HighCPU' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'HighCPU', job: 'node', ...labels },
        annotations: { summary: 'CPU above 90% for 5m' },
        startsAt: '2026-11-24T17:00:00.000Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example:9090/graph?g0.expr=HighCPU',
        fingerprint,
      },
    ],
  };
}

describe('alerts name their node by label rules', () => {
  let stack: Stack;
  let dir: string;
  let nodes: { stop(): void; ready: Promise<void> }[] = [];
  let anon: Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-node-labels-'));
    writeFileSync(join(dir, 'hooks.yaml'), CONFIG);
    stack = await startStack([], { env: { SHERLOCK_ALERTMANAGER_TOKEN: AM_TOKEN, SHERLOCK_HOOKS_CONFIG: join(dir, 'hooks.yaml') } });
    nodes = [fakeNode(stack.conn, 'web-1'), fakeNode(stack.conn, 'k8s-worker-3')];
    await Promise.all(nodes.map((n) => n.ready));
    anon = stack.admin.withToken(undefined);
  });

  afterAll(async () => {
    for (const n of nodes) n.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  const am = (body: unknown) => anon.post('/v1/hooks/alertmanager', body, { token: AM_TOKEN });
  const planNodes = async (runId: string) => ((await stack.admin.run(runId)) as any).plan.nodes;

  it('the first configured label present wins: kubernetes_node before instance', async () => {
    const reply = await am(amPayload('nl00000000000001', { kubernetes_node: 'k8s-worker-3', instance: 'web-1:9100', pod: 'api-7d9f' }));
    expect(reply.status).toBe(202);
    expect(await planNodes(reply.body.runId)).toEqual(['k8s-worker-3']);
  });

  it('instance: the host part before the port, then the short hostname of an FQDN', async () => {
    const exact = await am(amPayload('nl00000000000002', { instance: 'web-1:9100' }));
    expect(exact.status).toBe(202);
    expect(await planNodes(exact.body.runId)).toEqual(['web-1']);
    const fqdn = await am(amPayload('nl00000000000003', { instance: 'WEB-1.prod.example.com:9100' }));
    expect(fqdn.status).toBe(202);
    expect(await planNodes(fqdn.body.runId)).toEqual(['web-1']);
  });

  it('a label naming no live node is skipped for the next one (instance → host)', async () => {
    const reply = await am(amPayload('nl00000000000004', { instance: '10.0.0.7:9100', host: 'web-1' }));
    expect(reply.status).toBe(202);
    expect(await planNodes(reply.body.runId)).toEqual(['web-1']);
  });

  it('no label names a live node: refused, audited as hook.failed naming the labels tried', async () => {
    for (const [fp, labels] of [
      ['nl00000000000005', { instance: 'db-9:9100' }],
      ['nl00000000000006', { node: 'web-1' }],
    ] as const) {
      const reply = await am(amPayload(fp, labels));
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      expect(isJsonError(reply)).toBe(true);
      expect(JSON.stringify(reply.body)).toContain('kubernetes_node, instance, host');
      const audit = await stack.admin.get('/v1/audit?limit=1000');
      const entries = (audit.body.entries ?? audit.body.items ?? audit.body) as { action: string; subject: string; details?: any }[];
      const failed = entries.filter((e) => e.action === 'hook.failed' && e.subject === fp);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.details.error.message).toContain('kubernetes_node, instance, host');
    }
  });
});

describe('nodeLabels setting', () => {
  it('defaults to node, kubernetes_node, instance, hostname, host; a bad label name is refused, naming the field', () => {
    const parsed = parseHooksConfig('rules:\n  - runbook: high-cpu\n');
    expect(parsed).toMatchObject({ ok: true, config: { nodeLabels: ['node', 'kubernetes_node', 'instance', 'hostname', 'host'] } });
    expect(DEFAULT_NODE_LABELS).toEqual(['node', 'kubernetes_node', 'instance', 'hostname', 'host']);
    const bad = parseHooksConfig('nodeLabels: ["in stance"]\nrules: []\n');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.join('\n')).toContain('nodeLabels.0');
  });
});
