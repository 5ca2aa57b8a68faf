// The runbook and findings routes through the real API and Redis (no kernel
// needed: the node is a heartbeat, its results are written as a worker would):
// list, show with the params' JSON Schema, reload (admin) with a broken file,
// runbook runs planned from params, and findings stored at finalization.
import { copyFileSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureNames } from '../../src/captures/registry.js';
import { publishHeartbeat } from '../../src/nodes/registry.js';
import { keys } from '../../src/redis/keys.js';
import { putArtifact } from '../../src/redis/artifacts.js';
import { RunStore } from '../../src/runs/store.js';
import { projectRoot } from '../../src/util/paths.js';
import { histogram, result } from '../analysis/fixtures.js';
import { redisServerChildren } from '../helpers/redis.js';
import { RETENTION_SECONDS, startRunbookStack, type RunbookStack } from './stack.js';

const NODE = 'fake-node';
const BUILT_IN = ['disk-io', 'health-check', 'high-cpu', 'intermittent-latency', 'restarts', 'suspicious-activity'];

describe('runbook and findings routes', () => {
  let stack: RunbookStack;
  let dir: string;
  const beat = () =>
    publishHeartbeat(stack.conn, { name: NODE, labels: {}, kernel: release(), btf: true, captures: captureNames(), busy: false, version: '0.1.0' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-runbooks-api-'));
    for (const f of readdirSync(join(projectRoot, 'runbooks'))) if (f.endsWith('.yaml')) copyFileSync(join(projectRoot, 'runbooks', f), join(dir, f));
    cpSync(join(projectRoot, 'runbooks', 'falco'), join(dir, 'falco'), { recursive: true }); // the Falco rule files runbooks name
    stack = await startRunbookStack({ runbooksDir: dir });
    await beat();
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  it('GET /v1/runbooks: name, title and description of each, for runs:read', async () => {
    const reply = await stack.call('GET', '/v1/runbooks', { token: stack.readToken });
    expect(reply.status).toBe(200);
    expect(reply.body.runbooks.map((r: { name: string }) => r.name)).toEqual(BUILT_IN);
    for (const r of reply.body.runbooks)
      expect(r).toMatchObject({ title: expect.any(String), description: expect.any(String), links: { self: `/v1/runbooks/${r.name}` } });
    expect(reply.body.errors).toEqual([]);
  });

  it('GET /v1/runbooks/:name: params as JSON Schema, target, steps, limits', async () => {
    const reply = await stack.call('GET', '/v1/runbooks/intermittent-latency', { token: stack.readToken });
    expect(reply.status).toBe(200);
    expect(reply.body.params).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      properties: { service: { type: 'string' }, pid: { type: 'integer', minimum: 1 }, port: { type: 'integer', maximum: 65535 }, frequency: { default: 99 } },
    });
    expect(reply.body.target).toEqual({ unit: 'service', comm: 'comm', pid: 'pid', port: 'port' });
    expect(reply.body.limits).toMatchObject({ maxDuration: '5m', defaultDuration: '30s', maxDurationMs: 300_000 });
    expect(reply.body.steps.map((s: { capture: string }) => s.capture)).toContain('tcpconnlat');
    const missing = await stack.call('GET', '/v1/runbooks/nope', { token: stack.readToken });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'unknown_runbook', details: { available: BUILT_IN } });
    expect((await stack.call('GET', '/v1/runbooks', { token: 'shk_wrong' })).status).toBe(401);
  });

  it('POST /v1/runbooks/reload (admin): a broken file is named with its field, the others keep working', async () => {
    expect((await stack.call('POST', '/v1/runbooks/reload', { token: stack.readToken })).status).toBe(403);
    writeFileSync(join(dir, 'broken.yaml'), 'name: broken\ntitle: Broken\ndescription: x\nsteps:\n  - capture: tcpfoo\n');
    writeFileSync(join(dir, 'extra.yaml'), 'name: extra\ntitle: Extra\ndescription: a new one\nsteps:\n  - capture: execsnoop\n');
    const reply = await stack.call('POST', '/v1/runbooks/reload');
    expect(reply.status).toBe(200);
    expect(reply.body.runbooks).toEqual([...BUILT_IN.slice(0, 3), 'extra', ...BUILT_IN.slice(3)].sort());
    expect(reply.body.errors).toEqual([expect.objectContaining({ file: 'broken.yaml', field: 'steps.0.capture', message: expect.stringContaining('tcpfoo') })]);
    expect((await stack.call('GET', '/v1/runbooks', { token: stack.readToken })).body.errors[0].file).toBe('broken.yaml');
    expect((await stack.call('GET', '/v1/runbooks/extra')).status).toBe(200);
    const audit = await stack.call('GET', '/v1/audit?limit=5');
    expect(audit.body.entries[0]).toMatchObject({ action: 'runbooks.reload', actor: 'runbook-admin' });
  });

  it('POST /v1/runs with a runbook: bad params, a window over the limit and an unknown runbook say what is allowed', async () => {
    await beat();
    const post = (body: Record<string, unknown>) => stack.call('POST', '/v1/runs', { body: { targets: { nodes: [NODE] }, ...body } });
    const bad = await post({ runbook: 'intermittent-latency', params: { port: 70000, colour: 'red' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_params');
    expect(bad.body.error.message).toContain('param port: 70000 is above the maximum 65535 (allowed: an integer 1..65535)');
    expect(bad.body.error.message).toContain('unknown param colour; runbook intermittent-latency takes service, comm, pid, port, frequency');
    const long = await post({ runbook: 'intermittent-latency', duration: '20m' });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({
      code: 'duration_over_limit',
      message: 'duration 20m exceeds the 5m limit for this runbook (intermittent-latency)',
    });
    const unknown = await post({ runbook: 'slow-disk' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('runbooks: disk-io, extra, health-check');
  });

  it('a runbook run carries its params, target and thresholds; findings are 404 until it ends, then stored with it', async () => {
    await beat();
    const submitted = await stack.call('POST', '/v1/runs', {
      body: { runbook: 'intermittent-latency', params: { service: 'checkout', frequency: '49' }, duration: '7s', targets: { nodes: [NODE] } },
    });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    expect(submitted.body.links.findings).toBe(`/v1/runs/${id}/findings`);
    const run = (await stack.call('GET', `/v1/runs/${id}`)).body;
    expect(run.plan).toMatchObject({
      runbook: 'intermittent-latency',
      runbookTitle: 'Intermittent latency',
      params: { service: 'checkout', frequency: 49 },
      target: { unit: 'checkout' },
      durationMs: 7000,
      thresholds: { connectP99Ms: 100 },
    });
    expect(run.plan.steps.find((s: { capture: string }) => s.capture === 'profile').params.frequency).toBe(49);
    expect((await stack.call('GET', '/v1/runs?runbook=intermittent-latency')).body.runs.map((r: { id: string }) => r.id)).toContain(id);

    const early = await stack.call('GET', `/v1/runs/${id}/findings`, { token: stack.readToken });
    expect(early.status).toBe(404);
    expect(early.body.error.code).toBe('findings_not_ready');
    expect(early.body.error.message).toContain('computed when it ends');

    // What a worker leaves: a tcpconnlat result, and a profile whose stored bytes are corrupt.
    const where = (name: string) => ({ runId: id, node: NODE, name, contentType: 'application/json', ttlSeconds: RETENTION_SECONDS });
    const connlat = result('tcpconnlat', {
      histograms: [{ labels: { destination: '10.9.8.7:5432' }, histogram: histogram({ 6: 6, 19: 3 }) }],
      slowest: [],
      failures: [],
      missedRuns: 0,
    });
    await putArtifact(stack.conn, where('tcpconnlat.json'), JSON.stringify(connlat));
    await putArtifact(stack.conn, where('profile.json'), JSON.stringify({}));
    await stack.conn.set(`${keys.artifact(id, NODE, 'profile.json')}:0`, 'not gzip at all');
    const store = new RunStore(stack.conn, { retentionSeconds: RETENTION_SECONDS });
    const summary = (capture: string) => ({
      capture,
      kind: 'histogram',
      count: 1,
      dropped: 0,
      bpfCpuNs: 0,
      durationMs: 7000,
      cancelled: false,
      artifact: `${capture}.json`,
    });
    await store.setNodeState(id, NODE, {
      status: 'completed',
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      captures: [summary('tcpconnlat'), summary('profile')],
    });
    const final = await store.finalizeIfDone(id);
    expect(final!.status).toBe('completed');

    const reply = await stack.call('GET', `/v1/runs/${id}/findings`, { token: stack.readToken });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ runId: id, status: 'completed', runbook: 'intermittent-latency', counts: { critical: 0, warning: 1, info: 1 } });
    // 3 connects × ~800 ms lost over 7 s is 0.34 s/s: a warning by its impact (critical needs 0.5).
    const [top, broken] = reply.body.findings;
    expect(top).toMatchObject({ severity: 'warning', node: NODE, capture: 'tcpconnlat', file: `nodes/${NODE}/tcpconnlat.json` });
    expect(top.title).toContain('Connects from checkout to 10.9.8.7:5432 take 1.03 s at p99');
    expect(broken).toMatchObject({ severity: 'info', capture: 'profile', file: `nodes/${NODE}/profile.json` });
    expect(broken.title).toContain('could not be read');
    expect(await store.getFindings(id)).toEqual(reply.body.findings);
    // Finalizing again changes nothing.
    await store.finalizeIfDone(id);
    expect((await stack.call('GET', `/v1/runs/${id}/findings`)).body.findings).toEqual(reply.body.findings);
  });

  it('unknown runs and ad-hoc runs', async () => {
    expect((await stack.call('GET', '/v1/runs/00000000-0000-4000-8000-000000000000/findings')).body.error.code).toBe('run_not_found');
    await beat();
    const adhoc = await stack.call('POST', '/v1/runs', { body: { steps: [{ capture: 'execsnoop' }], duration: '2s', targets: { nodes: [NODE] } } });
    expect(adhoc.status).toBe(202);
    expect((await stack.call('GET', `/v1/runs/${adhoc.body.id}`)).body.plan.runbook).toBeUndefined();
  });
});
