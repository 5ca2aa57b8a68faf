// Submissions/s: authenticated POST /v1/runs through the real API into real
// Redis (run record, BullMQ flow, event, audit), queueing only: the target
// node is live by heartbeat but no worker consumes its queue. Beside it, a
// plain hono route on a second server in this process (parse the JSON, answer
// 202) is the baseline. The load comes from a separate node process: N
// keep-alive clients, each sending its next request when the last is answered.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { Queue } from 'bullmq';
import { keys, nodeQueue } from '../src/redis/keys.js';
import { runTimed } from './processes.js';
import { fmtCount, fmtMs, fmtRate, fmtRatio, kv, note, numericColumns, section, table, verdict } from './report.js';
import { submitBatching } from './submit-batching.js';
import { runLoad, type LoadConfig, type LoadReport } from './http-load.js';
import { processCpuMs, startBenchStack } from './server-common.js';

const LOAD_FLAG = '--server-submit-load';
const SINK = 'bench-sink';
const CONCURRENCY = [1, 16, 64];
const WARMUP_MS = 500;
const MEASURE_MS = 3000;
const TARGET_PER_S = 5000;
const body = JSON.stringify({ steps: [{ capture: 'execsnoop' }], duration: '10s', targets: { nodes: [SINK] }, reason: 'benchmark' });

async function loadFromChild(cfg: LoadConfig): Promise<LoadReport> {
  const run = await runTimed(process.execPath, [fileURLToPath(import.meta.url), LOAD_FLAG, JSON.stringify(cfg)], {
    timeoutMs: cfg.warmupMs + cfg.durationMs + 30_000,
  });
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  if (run.code !== 0 || !line.startsWith('{')) throw new Error(`load generator failed: exit ${run.code ?? run.signal}`);
  return JSON.parse(line) as LoadReport;
}

function baselineServer(): Promise<{ url: string; server: ServerType }> {
  const app = new Hono();
  app.post('/v1/runs', async (c) => {
    const request = (await c.req.json()) as { targets: { nodes: string[] } };
    const id = randomUUID();
    return c.json({ id, status: 'queued', nodes: request.targets.nodes, links: { self: `/v1/runs/${id}`, events: `/v1/runs/${id}/events` } }, 202);
  });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ url: `http://127.0.0.1:${info.port}`, server }));
  });
}

/** INFO commandstats as calls and µs per command. */
function commandStats(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return stats;
}

const ok = (r: LoadReport) => r.statuses['202'] ?? 0;
const rate = (r: LoadReport) => (ok(r) * 1000) / r.measuredMs;

export async function serverSubmit(): Promise<void> {
  const stack = await startBenchStack('submit');
  const baseline = await baselineServer();
  const queue = new Queue(nodeQueue(SINK), { connection: stack.conn });
  try {
    stack.fakeNodes([SINK]);
    await new Promise((r) => setTimeout(r, 100));
    const probe = await fetch(`${stack.api.url}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
      body,
    });
    if (probe.status !== 202) throw new Error(`POST /v1/runs answered ${probe.status}: ${await probe.text()}`);

    note(`load: a separate node process, N keep-alive clients, ${WARMUP_MS} ms warm-up then ${MEASURE_MS} ms measured per row`);
    note(`API: token check, zod, live nodes, run record + BullMQ flow (finalize parent + 1 child) + event + audit in Redis (one script call per batch)`);
    const rows: string[][] = [];
    let best = 0;
    let accepted = 1; // the probe
    let bad = 0;
    const apiCpu: number[] = [];
    const redisCpu: number[] = [];
    let commands: Map<string, { calls: number; usec: number }> | undefined;
    let ok64 = 0;
    for (const concurrency of CONCURRENCY) {
      const last = concurrency === CONCURRENCY.at(-1);
      if (last) await stack.conn.config('RESETSTAT');
      const cpu0 = process.cpuUsage();
      const redis0 = processCpuMs(stack.redis.process.pid!);
      const api = await loadFromChild({ url: `${stack.api.url}/v1/runs`, token: stack.token, body, concurrency, warmupMs: WARMUP_MS, durationMs: MEASURE_MS });
      const cpu = process.cpuUsage(cpu0);
      const redisMs = processCpuMs(stack.redis.process.pid!) - redis0;
      if (last) commands = commandStats(await stack.conn.info('commandstats'));
      const base = await loadFromChild({ url: `${baseline.url}/v1/runs`, body, concurrency, warmupMs: WARMUP_MS, durationMs: MEASURE_MS });
      // Every request of the window counts once; the warm-up's too, for the Redis cross-check below.
      const sent = Object.values(api.statuses).reduce((a, b) => a + b, 0);
      bad += sent - ok(api) + api.errors + base.errors + (Object.values(base.statuses).reduce((a, b) => a + b, 0) - ok(base));
      best = Math.max(best, rate(api));
      const perRunApiUs = (((cpu.user + cpu.system) / 1000) * 1000) / Math.max(1, ok(api));
      const perRunRedisUs = (redisMs * 1000) / Math.max(1, ok(api));
      apiCpu.push(perRunApiUs);
      redisCpu.push(perRunRedisUs);
      rows.push([
        String(concurrency),
        fmtRate(rate(api)),
        fmtMs(api.p50Ms),
        fmtMs(api.p99Ms),
        fmtRate(rate(base)),
        fmtMs(base.p50Ms),
        fmtMs(base.p99Ms),
        fmtRatio(rate(api) / rate(base)),
      ]);
      accepted += ok(api);
      if (last) ok64 = ok(api);
    }
    section('authenticated POST /v1/runs (real API, real Redis) vs a plain hono route in the same process');
    table(['clients', 'runs/s', 'p50', 'p99', 'plain req/s', 'p50', 'p99', 'runs/plain'], rows, numericColumns(8));
    kv('API process CPU per run', CONCURRENCY.map((c, i) => `${c}: ${apiCpu[i]!.toFixed(0)} µs`).join(', ') + ' (includes the baseline server idle)');
    kv('redis-server CPU per run', CONCURRENCY.map((c, i) => `${c}: ${redisCpu[i]!.toFixed(0)} µs`).join(', '));
    kv('non-202 answers or socket errors', fmtCount(bad));
    if (commands) {
      // Warm-up runs included: per 202 of the window is a slight overestimate. Script time includes the commands it calls.
      const perRun = (n: number) => n / Math.max(1, ok64);
      const top = [...commands].sort((a, b) => b[1].usec - a[1].usec).slice(0, 6);
      kv(
        `Redis commands per run (${CONCURRENCY.at(-1)} clients)`,
        top.map(([c, v]) => `${c} ${perRun(v.calls).toFixed(2)}× ${perRun(v.usec).toFixed(0)} µs`).join(', '),
      );
    }

    accepted += await submitBatching(stack.redis.url, stack.redis.process.pid!, SINK, body);

    // Nothing accepted may be missing: one run record and one waiting job per 202 (warm-up ones included).
    const runs = await stack.conn.zcard(keys.runsByTime);
    const waiting = await queue.getWaitingCount();
    kv('runs stored / jobs waiting for the sink', `${fmtCount(runs)} / ${fmtCount(waiting)} (≥ ${fmtCount(accepted)} accepted in measured windows)`);
    if (runs !== waiting) note(`MISMATCH: ${runs} run records but ${waiting} waiting jobs`);
    note('2 CPUs shared by the API, redis-server and the load generator: the figures are a floor for a real deployment');
    verdict(best >= TARGET_PER_S, `best ${fmtRate(best)} vs ≥${fmtRate(TARGET_PER_S)}`);
  } finally {
    await queue.close();
    await new Promise<void>((resolve) => baseline.server.close(() => resolve()));
    await stack.stop();
  }
}

if (process.argv[2] === LOAD_FLAG && process.argv[1] === fileURLToPath(import.meta.url)) {
  runLoad(JSON.parse(process.argv[3] ?? '{}') as LoadConfig).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
