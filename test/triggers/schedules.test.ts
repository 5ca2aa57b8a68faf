// Schedules and baselines through the real API, a real Redis and BullMQ's job
// schedulers: a six-field cron that fires every 2 s queues runs as
// schedule:<name> on a heartbeat-only node, deleting it stops it, a bad cron is
// a 400 that says why; and a scheduled health-check run that completes becomes
// the baseline a later run's numbers are compared with (results stored as a
// worker would store them).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fmtUs } from '../../src/format/index.js';
import { putArtifact } from '../../src/redis/artifacts.js';
import { RunStore } from '../../src/runs/store.js';
import type { RunPlan } from '../../src/model/run.js';
import { expectedQuantile, histogram, result } from '../analysis/fixtures.js';
import { redisServerChildren } from '../helpers/redis.js';
import { RETENTION_SECONDS, fakeNode, isJsonError, sleep, startStack, waitFor, type Stack } from '../server/harness.js';

const NODE = 'sched-node';
const SCHEDULE = 'hc-every-2s';

describe('schedules and baselines', () => {
  let stack: Stack;
  let node: ReturnType<typeof fakeNode>;
  let readToken: string;
  let configDir: string | undefined;

  beforeAll(async () => {
    // Fires every 2 s: allowed by this server's config (the default minimum is 60 s).
    configDir = mkdtempSync(join(tmpdir(), 'sherlock-sched-'));
    const configFile = join(configDir, 'sherlock.yaml');
    writeFileSync(configFile, 'load:\n  minScheduleIntervalSeconds: 1\n', { mode: 0o600 });
    stack = await startStack([], { configFile });
    node = fakeNode(stack.conn, NODE);
    await node.ready;
    readToken = (await stack.api.tokens.create('reader', ['runs:read'], 'test')).secret;
  });

  afterAll(async () => {
    node?.stop();
    await stack?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  const scheduledRuns = async (name: string) => {
    const reply = await stack.admin.get('/v1/runs?limit=200');
    expect(reply.status).toBe(200);
    return (reply.body.runs as { id: string; requestedBy: string }[]).filter((r) => r.requestedBy === `schedule:${name}`);
  };

  it('a bad cron, time zone or name is a 400 that says why; create needs runs:write', async () => {
    const body = { name: 'bad', runbook: 'health-check', targets: { nodes: [NODE] } };
    const short = await stack.admin.post('/v1/schedules', { ...body, cron: 'x * *' });
    expect(short.status).toBe(400);
    expect(isJsonError(short)).toBe(true);
    expect(short.body.error).toMatchObject({ code: 'invalid_cron' });
    expect(short.body.error.message).toContain("cron 'x * *' is invalid");
    const junk = await stack.admin.post('/v1/schedules', { ...body, cron: 'x * * * *' });
    expect(junk.status).toBe(400);
    expect(junk.body.error.message).toMatch(/^cron 'x \* \* \* \*' is invalid: .+/);
    const range = await stack.admin.post('/v1/schedules', { ...body, cron: '0 25 * * *' });
    expect(range.status).toBe(400);
    expect(range.body.error.message).toContain("cron '0 25 * * *' is invalid");
    const tz = await stack.admin.post('/v1/schedules', { ...body, cron: '0 3 * * *', timezone: 'Mars/Olympus' });
    expect(tz.status).toBe(400);
    expect(tz.body.error).toMatchObject({ code: 'invalid_timezone' });
    const name = await stack.admin.post('/v1/schedules', { ...body, name: 'Bad Name', cron: '0 3 * * *' });
    expect(name.status).toBe(400);
    expect(name.body.error.message).toContain('schedule names are lowercase letters');
    const runbook = await stack.admin.post('/v1/schedules', { ...body, runbook: 'nope', cron: '0 3 * * *' });
    expect(runbook.status).toBe(404);
    expect(runbook.body.error.code).toBe('unknown_runbook');
    const targets = await stack.admin.post('/v1/schedules', { ...body, targets: {}, cron: '0 3 * * *' });
    expect(targets.status).toBe(400);
    expect(targets.body.error.message).toContain('targets needs nodes, labels or all');
    const reader = await stack.admin.withToken(readToken).post('/v1/schedules', { ...body, cron: '0 3 * * *' });
    expect(reader.status).toBe(403);
    expect((await stack.admin.get('/v1/schedules')).body.schedules).toEqual([]);
  });

  it('a */2-second schedule fires runs as schedule:<name>; listed with its next fire; deleting it stops it', async () => {
    const created = await stack.admin.post('/v1/schedules', {
      name: SCHEDULE,
      cron: '*/2 * * * * *',
      timezone: 'UTC',
      runbook: 'health-check',
      params: { frequency: 9 },
      duration: '2s',
      targets: { nodes: [NODE] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: SCHEDULE,
      cron: '*/2 * * * * *',
      timezone: 'UTC',
      request: { runbook: 'health-check', params: { frequency: 9 } },
    });
    expect(Date.parse(created.body.next)).toBeGreaterThan(Date.now() - 2000);
    const again = await stack.admin.post('/v1/schedules', { name: SCHEDULE, cron: '0 3 * * *', runbook: 'health-check', targets: { nodes: [NODE] } });
    expect(again.status).toBe(409);

    const list = await stack.admin.withToken(readToken).get('/v1/schedules');
    expect(list.status).toBe(200);
    expect(list.body.schedules).toEqual([expect.objectContaining({ name: SCHEDULE, cron: '*/2 * * * * *', timezone: 'UTC', next: expect.any(String) })]);
    expect(Date.parse(list.body.schedules[0].next)).toBeLessThanOrEqual(Date.now() + 2500);

    const runs = await waitFor(
      'two scheduled runs',
      async () => {
        const found = await scheduledRuns(SCHEDULE);
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 6500, intervalMs: 200 },
    );
    const run = await stack.admin.run(runs[0]!.id);
    expect(run.plan).toMatchObject({ nodes: [NODE], durationMs: 2000 });
    expect((run.plan as unknown as { runbook: string }).runbook).toBe('health-check');

    const audit = (await stack.admin.get('/v1/audit?limit=50')).body.entries as {
      actor: string;
      action: string;
      subject: string;
      details?: { origin?: unknown };
    }[];
    expect(audit).toContainEqual(expect.objectContaining({ action: 'schedule.create', subject: SCHEDULE, actor: 'test-admin' }));
    expect(audit).toContainEqual(
      expect.objectContaining({ action: 'run.create', actor: `schedule:${SCHEDULE}`, details: expect.objectContaining({ origin: { schedule: SCHEDULE } }) }),
    );

    expect((await stack.admin.withToken(readToken).delete(`/v1/schedules/${SCHEDULE}`)).status).toBe(403);
    const deleted = await stack.admin.delete(`/v1/schedules/${SCHEDULE}`);
    expect(deleted.status).toBe(200);
    expect((await stack.admin.get('/v1/schedules')).body.schedules).toEqual([]);
    await sleep(500); // a fire already handed to the worker may still land
    const before = (await scheduledRuns(SCHEDULE)).length;
    await sleep(4000);
    expect((await scheduledRuns(SCHEDULE)).length).toBe(before);
    expect((await stack.admin.get('/v1/audit?limit=5')).body.entries).toContainEqual(expect.objectContaining({ action: 'schedule.delete', subject: SCHEDULE }));

    const missing = await stack.admin.delete(`/v1/schedules/${SCHEDULE}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('schedule_not_found');
    expect((await stack.admin.get('/v1/schedules/nope')).status).toBe(404);
  }, 20_000);

  it('a completed scheduled health-check run is the baseline a later run is compared with', async () => {
    const BASE_NODE = 'baseline-node';
    const DEST = '10.0.3.7:5432';
    const store = new RunStore(stack.conn, { retentionSeconds: RETENTION_SECONDS });
    const plan = (runbook: string): RunPlan => ({ runbook, steps: [], durationMs: 2000, target: {}, nodes: [BASE_NODE] });
    const finish = async (id: string, slots: Record<number, number>, runq: Record<number, number>) => {
      const where = (name: string) => ({ runId: id, node: BASE_NODE, name, contentType: 'application/json', ttlSeconds: RETENTION_SECONDS });
      await putArtifact(
        stack.conn,
        where('tcpconnlat.json'),
        JSON.stringify(
          result('tcpconnlat', { histograms: [{ labels: { destination: DEST }, histogram: histogram(slots) }], slowest: [], failures: [], missedRuns: 0 }),
        ),
      );
      await putArtifact(
        stack.conn,
        where('runqlat.json'),
        JSON.stringify(result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram(runq) }] })),
      );
      const summary = (capture: string) => ({
        capture,
        kind: 'histogram',
        count: 1,
        dropped: 0,
        bpfCpuNs: 0,
        durationMs: 2000,
        cancelled: false,
        artifact: `${capture}.json`,
      });
      const now = new Date().toISOString();
      await store.setNodeState(id, BASE_NODE, { status: 'completed', startedAt: now, finishedAt: now, captures: [summary('tcpconnlat'), summary('runqlat')] });
      expect((await store.finalizeIfDone(id))!.status).toBe('completed');
    };

    const baseSlots = { 11: 20 };
    const nowSlots = { 11: 10, 17: 10 };
    const baseId = '00000000-0000-4000-8000-0000000000b1';
    await store.create(baseId, plan('health-check'), 'schedule:nightly', new Date(Date.now() - 60_000));
    await finish(baseId, baseSlots, { 3: 50 });
    // The baseline run itself has no earlier baseline.
    const first = await stack.admin.get(`/v1/runs/${baseId}/baseline`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ runId: baseId, rows: [], missing: [BASE_NODE] });

    const laterId = '00000000-0000-4000-8000-0000000000b2';
    await store.create(laterId, plan('intermittent-latency'), 'admin', new Date(Date.now() + 1000));
    const early = await stack.admin.get(`/v1/runs/${laterId}/baseline`);
    expect(early.status).toBe(404);
    expect(early.body.error.code).toBe('baseline_not_ready');
    await finish(laterId, nowSlots, { 3: 50 });

    const reply = await stack.admin.withToken(readToken).get(`/v1/runs/${laterId}/baseline`);
    expect(reply.status).toBe(200);
    const rows = reply.body.rows as { node: string; metric: string; baseline: string; now: string; baselineAt: string; baselineRunId: string }[];
    const row = rows.find((r) => r.metric === `p99 connect latency to ${DEST}`);
    expect(row).toMatchObject({
      node: BASE_NODE,
      baseline: fmtUs(expectedQuantile(baseSlots, 0.99)),
      now: fmtUs(expectedQuantile(nowSlots, 0.99)),
      baselineRunId: baseId,
      baselineAt: expect.any(String),
    });
    expect(row!.baseline).toBe('4.1 ms');
    expect(row!.now).toBe('260 ms');
    expect(rows.find((r) => r.metric === 'p99 run-queue latency')).toMatchObject({ baseline: fmtUs(expectedQuantile({ 3: 50 }, 0.99)) });
    expect(reply.body.missing).toBeUndefined();
    // ×64 and 256 ms more: a critical finding that reads like the table row, and a row in the page.
    const findings = (await stack.admin.get(`/v1/runs/${laterId}/findings`)).body.findings as { id: string; severity: string; title: string }[];
    expect(findings.find((f) => f.id === `baseline:${BASE_NODE}:p99 connect latency to ${DEST}`)).toMatchObject({
      severity: 'critical',
      title: expect.stringMatching(
        new RegExp(`^p99 connect latency to ${DEST}: 4\\.1 ms \\(baseline, (\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d UTC\\) → 260 ms \\(now\\), ×64\\.$`),
      ),
    });
    const page = await stack.admin.get(`/v1/runs/${laterId}/report.html`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<section id="baseline"><h2>Compared with baseline</h2>');
    expect(page.text).toContain('<span class="sev sev-critical">×64</span>');

    // A later run that was not scheduled (requestedBy admin) is not a baseline: a third run still compares with the first.
    const thirdId = '00000000-0000-4000-8000-0000000000b3';
    await store.create(thirdId, plan('health-check'), 'admin', new Date(Date.now() + 2000));
    await finish(thirdId, nowSlots, { 3: 50 });
    const third = await stack.admin.get(`/v1/runs/${thirdId}/baseline`);
    expect(third.body.rows.every((r: { baselineRunId: string }) => r.baselineRunId === baseId)).toBe(true);
    expect((await stack.admin.get('/v1/runs/00000000-0000-4000-8000-00000000dead/baseline')).status).toBe(404);
  });
});
