// Falco rules through a whole run: a real API, Redis and a worker started with
// operator rule files (SHERLOCK_FALCO_RULES: one file for every run, a
// directory whose files a request names) run suspicious-activity, whose
// runbook names the shipped rules. The run's findings, its node state, the
// node's falco-alerts.ndjson and the bundle's manifest must show what each
// file's rules saw; analysis.json and the fallback must agree.
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/redis/keys.js';
import { analyzeStoredRun } from '../../src/runs/findings.js';
import { RunStore } from '../../src/runs/store.js';
import { startNodeWorker, type NodeWorker } from '../../src/worker/node-worker.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { unpack } from '../report/unpack.js';
import { RETENTION_SECONDS, startStack, waitFor, type Stack } from '../server/harness.js';

const skip = kernelSkipReason();
const NODE = 'falco-node';

describe.skipIf(skip)(`Falco rules in a run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let worker: NodeWorker | undefined;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync('/tmp/sherlock-falco-run-');
    mkdirSync(join(dir, 'on-request'));
    writeFileSync(
      join(dir, 'always.yaml'),
      `
- rule: Marker file read
  desc: the test's marker file was read
  condition: evt.type in (open, openat, openat2) and evt.is_open_read = true and fd.name = "${dir}/marker"
  output: marker read (file=%fd.name process=%proc.name)
  priority: NOTICE
  tags: [test]
- rule: Needs kubernetes
  desc: a field Sherlock cannot fill
  condition: evt.type = execve and k8s.pod.name exists
  output: x
  priority: NOTICE
`,
    );
    writeFileSync(
      join(dir, 'on-request', 'extra.yaml'),
      `
- rule: Marker program ran
  desc: the test's marker program ran
  condition: evt.type = execve and proc.name = falco-marker
  output: marker program ran (cmdline=%proc.cmdline parent=%proc.pname)
  priority: ERROR
  tags: [test]
`,
    );
    copyFileSync('/bin/true', join(dir, 'falco-marker'));
    writeFileSync(join(dir, 'marker'), 'x');
    stack = await startStack([]);
    worker = await startNodeWorker({
      redisUrl: stack.redis.url,
      node: NODE,
      labels: {},
      retentionSeconds: RETENTION_SECONDS,
      falcoRules: [join(dir, 'always.yaml'), join(dir, 'on-request')],
    });
    await waitFor('the worker heartbeat', async () => ((await stack.admin.get('/v1/nodes')).text.includes(NODE) ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it("matches the runbook's, the operator's and the requested rule files, and shows them in findings, state, alerts and manifest", async () => {
    const hidden = `/tmp/.sherlock-falco-hidden-${process.pid}`;
    const id = await stack.admin.submit({ runbook: 'suspicious-activity', duration: '4s', targets: { nodes: [NODE] }, falcoRules: ['extra'] });
    const steps = ((await stack.admin.get(`/v1/runs/${id}`)).body.plan.steps as unknown[]).length;
    await waitFor(
      'every capture live',
      async () => {
        const entries = await stack.conn.xrange(keys.runEvents(id), '-', '+');
        return entries.map(([, f]) => JSON.parse(f[1]!) as { type: string }).filter((e) => e.type === 'capture-live').length === steps ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    try {
      spawnSync(join(dir, 'falco-marker'));
      spawnSync('/bin/cat', [join(dir, 'marker')]);
      closeSync(openSync(hidden, 'w')); // the shipped "Create hidden file below tmp"
    } finally {
      rmSync(hidden, { force: true });
    }
    const view = await stack.admin.waitFinal(id, 20_000);
    expect(view.status).toBe('completed');

    // Matched while the capture ran: the alert is in the run's live events (SSE) before the node finished.
    const streamEntries = await stack.conn.xrange(keys.runEvents(id), '-', '+');
    const events = streamEntries.map(([, f]) => JSON.parse(f[1]!) as Record<string, unknown>);
    const alertAt = events.findIndex((e) => e.type === 'falco-alert' && e.rule === 'Marker program ran');
    const finishedAt = events.findIndex((e) => e.type === 'node-finished');
    expect(alertAt).toBeGreaterThan(-1);
    expect(alertAt).toBeLessThan(finishedAt);
    // Stream entries' own times (ms): posted before execsnoop's 4 s window closed.
    const entryMs = (i: number) => Number(streamEntries[i]![0].split('-')[0]);
    const execLive = events.findIndex((e) => e.type === 'capture-live' && e.capture === 'execsnoop');
    expect(entryMs(alertAt)).toBeLessThan(entryMs(execLive) + 4_000);
    expect(events[alertAt]).toMatchObject({ node: NODE, priority: 'Error', output: expect.stringContaining('marker program ran (cmdline=falco-marker') });

    const store = new RunStore(stack.conn, { retentionSeconds: RETENTION_SECONDS });
    const run = (await store.get(id))!;
    const falco = run.nodes[NODE]!.falco!;
    expect(falco.files.map((f) => f.replace(dir, 'DIR'))).toEqual([
      expect.stringMatching(/runbooks\/falco\/sherlock_rules\.yaml$/),
      'DIR/always.yaml',
      'DIR/on-request/extra.yaml',
    ]);
    expect(falco.errors).toEqual([]);
    expect(falco.notLoaded).toContainEqual({
      rule: 'Needs kubernetes',
      file: join(dir, 'always.yaml'),
      state: 'disabled',
      reason: 'field k8s.pod.name is not available',
    });
    expect(falco.alertsFile).toBe('falco-alerts.ndjson');

    const findings = (await store.getFindings(id))!;
    const falcoFindings = new Map(findings.filter((f) => f.id.startsWith('falco:')).map((f) => [f.evidence.rule, f]));
    expect(falcoFindings.get('Marker program ran')).toMatchObject({ severity: 'critical', node: NODE, capture: 'execsnoop' });
    expect(falcoFindings.get('Marker file read')).toMatchObject({ severity: 'warning', capture: 'opensnoop' });
    const hiddenFinding = falcoFindings.get('Create hidden file below tmp');
    expect(JSON.stringify(hiddenFinding?.evidence.examples)).toContain(hidden);

    // finalize without the worker's analysis.json gives the same findings (Falco's come from the node state).
    await stack.conn.del(keys.artifact(id, NODE, 'analysis.json'));
    expect(JSON.stringify((await analyzeStoredRun(stack.conn, run)).findings)).toBe(JSON.stringify(findings));

    const alerts = (await stack.admin.artifact(id, NODE, 'falco-alerts.ndjson')).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const marker = alerts.find((a) => a.rule === 'Marker program ran')!;
    expect(marker).toMatchObject({
      priority: 'Error',
      tags: ['test'],
      source: 'syscall',
      output_fields: { 'proc.cmdline': 'falco-marker', 'proc.pname': 'node' },
    });

    const res = await fetch(`${stack.admin.baseUrl}/v1/runs/${id}/report`, { headers: { authorization: `Bearer ${stack.admin.token}` } });
    expect(res.status).toBe(200);
    const entries = await unpack(Buffer.from(await res.arrayBuffer()));
    const name = (suffix: string) => [...entries.keys()].find((k) => k.endsWith(suffix));
    const manifest = JSON.parse(entries.get(name('/manifest.json')!)!.data.toString('utf8'));
    const nodeEntry = manifest.nodes.find((n: { name: string }) => n.name === NODE);
    expect(nodeEntry.falcoRules).toMatchObject({
      alertsFile: 'falco-alerts.ndjson',
      notLoaded: expect.arrayContaining([expect.objectContaining({ rule: 'Needs kubernetes' })]),
    });
    const bundled = entries.get(name(`/nodes/${NODE}/falco-alerts.ndjson`)!)!.data.toString('utf8');
    expect(bundled.trim().split('\n').length).toBe(alerts.length);
  }, 60_000);

  it("says when a requested rule file is not among the operator's", async () => {
    const id = await stack.admin.submit({ runbook: 'suspicious-activity', duration: '1s', targets: { nodes: [NODE] }, falcoRules: ['nope'] });
    await stack.admin.waitFinal(id, 20_000);
    const run = (await new RunStore(stack.conn, { retentionSeconds: RETENTION_SECONDS }).get(id))!;
    expect(run.nodes[NODE]!.falco!.errors).toEqual([expect.stringMatching(/rule file "nope" is not among this node's operator rule files \(always, extra\)/)]);
  }, 30_000);
});
