// /healthz, /metrics, /v1/openapi.json and /v1/captures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureNames } from '../../src/captures/registry.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { promtoolCheckMetrics, promtoolSkipReason } from '../helpers/promtool.js';
import { redisServerChildren } from '../helpers/redis.js';
import { execMarker, sleep, startStack, waitCaptureLive, type Stack } from './harness.js';

const skip = kernelSkipReason();
const noPromtool = promtoolSkipReason();
const NODE = 'metrics-node';

/** Metric lines as name{labels} → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a metric line: ${line}`);
    // le last, as the expectations below spell it (prom-client writes it first).
    const key = m[1]!.replace(/\{le="([^"]*)",(.*)\}$/, '{$2,le="$1"}');
    out.set(key, Number(m[2]));
  }
  return out;
}

/** Exposition-format problems: a sample without its family's # TYPE before it, a family declared twice, a bad name. */
function exposition(text: string): string[] {
  const problems: string[] = [];
  const typed = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      if (typed.has(type[1]!)) problems.push(`declared twice: ${type[1]}`);
      typed.set(type[1]!, type[2]!);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
    const family = [name, name.replace(/_(bucket|sum|count)$/, ''), name.replace(/_total$/, '')].find((n) => typed.has(n));
    if (!family) problems.push(`no # TYPE before: ${line}`);
  }
  return problems;
}

describe('health, metrics and the API description', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack([NODE]);
  });

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('answers /healthz 200 while Redis is up, without a token', async () => {
    const reply = await stack.admin.withToken(undefined).get('/healthz');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ok', redis: 'reachable' });
  });

  it.skipIf(skip)(
    `counts completed runs, shows queue depths of live nodes and request latency per route${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const { admin } = stack;
      const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '2s', targets: { nodes: [NODE] } });
      await waitCaptureLive(stack.conn, id, [NODE]);
      await execMarker('metrics-marker'); // at least one exec in the window
      const run = await admin.waitFinal(id, 10_000);
      expect(run.status).toBe('completed');
      const summary = run.nodes[NODE]!.captures![0]!;
      await admin.get(`/v1/runs/${id}`);
      await admin.get('/v1/no-such-route');

      const reply = await admin.withToken(undefined).get('/metrics');
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toContain('text/plain');
      const metrics = parseMetrics(reply.text);
      expect(reply.text).toContain('# TYPE sherlock_runs_total counter');
      expect(metrics.get('sherlock_runs_total{runbook="ad-hoc",status="completed"}')).toBe(1);
      expect(metrics.get('sherlock_runs_started_total{runbook="ad-hoc"}')).toBe(1);
      expect(metrics.get(`sherlock_node_jobs_total{node="${NODE}",status="completed"}`)).toBe(1);
      // Per capture, as the run's own summary says (the worker pushed them through Redis).
      const capture = '{capture="execsnoop"}';
      expect(metrics.get('sherlock_captures_total{capture="execsnoop",outcome="completed"}')).toBe(1);
      expect(metrics.get(`sherlock_capture_duration_seconds_count${capture}`)).toBe(1);
      expect(metrics.get(`sherlock_capture_duration_seconds_sum${capture}`)).toBeCloseTo(summary.durationMs / 1000, 3);
      expect(summary.count).toBeGreaterThan(0);
      expect(metrics.get(`sherlock_capture_events_total${capture}`)).toBe(summary.count);
      expect(metrics.get(`sherlock_capture_bpf_cpu_seconds_total${capture}`) ?? 0).toBeCloseTo((summary as unknown as { bpfCpuNs: number }).bpfCpuNs / 1e9, 6);
      expect(reply.text).toContain('# TYPE sherlock_capture_dropped_events_total counter');
      expect(reply.text).toContain('# TYPE sherlock_redactions_total counter');
      expect(metrics.get(`sherlock_queue_oldest_waiting_seconds{node="${NODE}"}`)).toBe(0);
      expect(metrics.get('sherlock_oldest_waiting_run_seconds')).toBe(0);
      // The worker's own process, from its heartbeat (workers never listen on a port).
      expect(metrics.get(`sherlock_worker_cpu_seconds_total{node="${NODE}"}`)).toBeGreaterThan(0);
      expect(metrics.get(`sherlock_worker_resident_memory_bytes{node="${NODE}"}`)).toBeGreaterThan(10e6);
      expect(metrics.get(`sherlock_worker_busy{node="${NODE}"}`)).toBe(0);
      expect(metrics.get(`sherlock_queue_jobs{node="${NODE}",state="waiting"}`)).toBe(0);
      expect(metrics.get(`sherlock_queue_jobs{node="${NODE}",state="active"}`)).toBe(0);
      expect(metrics.get(`sherlock_queue_jobs{node="${NODE}",state="failed"}`)).toBe(0);

      expect(reply.text).toContain('# TYPE sherlock_http_request_duration_seconds histogram');
      const post = 'method="POST",route="/v1/runs",status="202"';
      expect(metrics.get(`sherlock_http_request_duration_seconds_count{${post}}`)).toBe(1);
      expect(metrics.get(`sherlock_http_request_duration_seconds_bucket{${post},le="+Inf"}`)).toBe(1);
      expect(metrics.get(`sherlock_http_request_duration_seconds_sum{${post}}`)).toBeGreaterThan(0);
      // Routes are labelled by pattern, not by path: one series for every run id.
      const byId = [...metrics.keys()].filter((k) =>
        k.startsWith('sherlock_http_request_duration_seconds_count{method="GET",route="/v1/runs/:id",status="200"}'),
      );
      expect(byId).toHaveLength(1);
      expect(metrics.get(byId[0]!)).toBeGreaterThanOrEqual(2);
      expect([...metrics.keys()].some((k) => k.includes(id))).toBe(false);
      // Buckets are cumulative.
      const buckets = [...metrics.entries()].filter(([k]) => k.startsWith(`sherlock_http_request_duration_seconds_bucket{${post}`)).map(([, v]) => v);
      expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);

      // Requests by status, process and Node defaults, and the fleet.
      expect(metrics.get(`sherlock_http_requests_total{${post}}`)).toBe(1);
      expect([...metrics.keys()].filter((k) => k.startsWith('sherlock_http_requests_total{method="GET"') && k.endsWith('status="404"}'))).toHaveLength(1);
      expect(metrics.get('process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(metrics.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(metrics.get('sherlock_nodes_known')).toBeGreaterThanOrEqual(1);
      expect(metrics.get('sherlock_nodes_up')).toBeGreaterThanOrEqual(1);
      const age = metrics.get(`sherlock_node_heartbeat_age_seconds{node="${NODE}"}`);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60);
      expect(exposition(reply.text)).toEqual([]);
      if (noPromtool) console.warn(`promtool check metrics skipped: ${noPromtool}`);
      else expect(promtoolCheckMetrics(reply.text)).toEqual({ status: 0, output: '' });
    },
    20_000,
  );

  it('shows queued jobs of a live node in sherlock_queue_jobs', async () => {
    const { admin } = stack;
    await stack.stopWorker(NODE);
    const { fakeNode } = await import('./harness.js');
    const beat = fakeNode(stack.conn, 'idle-node');
    try {
      await beat.ready;
      await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['idle-node'] } });
      await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['idle-node'] } });
      await sleep(1100);
      const metrics = parseMetrics((await admin.get('/metrics')).text);
      expect(metrics.get('sherlock_queue_jobs{node="idle-node",state="waiting"}')).toBe(2);
      // The oldest of the two has waited since it was submitted.
      const waited = metrics.get('sherlock_queue_oldest_waiting_seconds{node="idle-node"}')!;
      expect(waited).toBeGreaterThanOrEqual(1);
      expect(waited).toBeLessThan(30);
      expect(metrics.get('sherlock_oldest_waiting_run_seconds')).toBe(waited);
      expect([...metrics.keys()].some((k) => k.startsWith('sherlock_queue_') && k.includes(`node="${NODE}"`))).toBe(false); // withdrawn: not live
    } finally {
      beat.stop();
    }
  });

  it('serves the OpenAPI document with the run routes and the RunRequest schema', async () => {
    const reply = await stack.admin.withToken(undefined).get('/v1/openapi.json');
    expect(reply.status).toBe(200);
    const doc = JSON.parse(reply.text);
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/runs', '/v1/runs/{id}', '/v1/runs/{id}/events', '/v1/nodes', '/v1/captures', '/healthz', '/metrics']),
    );
    expect(doc.paths['/v1/runs'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RunRequest' });
    const schema = doc.components.schemas.RunRequest;
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['steps', 'duration', 'targets', 'runbook', 'target']));
    expect(schema.required).toContain('targets');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.targets.additionalProperties).toBe(false);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
  });

  it('lists the captures with their parameter schemas', async () => {
    const reply = await stack.admin.get('/v1/captures');
    expect(reply.status).toBe(200);
    const list = reply.body.captures as { name: string; summary: string; kind: string; params: { properties: Record<string, unknown> } }[];
    expect(list.map((c) => c.name)).toEqual(captureNames());
    const exec = list.find((c) => c.name === 'execsnoop')!;
    expect(exec.kind).toBe('events');
    expect(exec.summary).toEqual(expect.any(String));
    expect(Object.keys(exec.params.properties)).toEqual(expect.arrayContaining(['maxEvents', 'ringBufferMiB']));
  });
});
