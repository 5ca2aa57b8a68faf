// The submission write path alone, in this process (no HTTP, no token or zod):
// 64 concurrent callers of RunSubmitter.submit against the bench's Redis, with
// batching (runs arriving together share one script call writing their records
// and flows) and without (each run its own call), alternating
// rounds so both see the same machine. CPU per run is the steadier figure on
// a shared machine; runs/s moves with whatever else runs.
import { release } from 'node:os';
import { captureNames } from '../src/captures/registry.js';
import { DEFAULT_LOAD_LIMITS } from '../src/config/load-limits.js';
import type { RunPlan } from '../src/model/run.js';
import { planRun } from '../src/planner/plan.js';
import { runRequestSchema } from '../src/planner/run-request.js';
import { RunSubmitter } from '../src/queue/run-flow.js';
import { connectRedis } from '../src/redis/connection.js';
import { RunStore } from '../src/runs/store.js';
import { fmtRate, fmtRatio, kv, numericColumns, section, table } from './report.js';
import { processCpuMs } from './server-common.js';

const CALLERS = 64;
const ROUND_MS = 1500;
const ROUNDS = 3;
const MAX_RUNS_PER_ROUND = 50_000;

interface Round {
  runs: number;
  ms: number;
  apiCpuMs: number;
  redisCpuMs: number;
}

async function round(submitter: RunSubmitter, plan: RunPlan, redisPid: number): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const redis0 = processCpuMs(redisPid);
  const t0 = performance.now();
  let runs = 0;
  const caller = async () => {
    while (performance.now() - t0 < ROUND_MS && runs < MAX_RUNS_PER_ROUND) {
      await submitter.submit(plan, 'bench');
      runs++;
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { runs, ms, apiCpuMs: (cpu.user + cpu.system) / 1000, redisCpuMs: processCpuMs(redisPid) - redis0 };
}

/** Prints batched vs one-run-per-transaction submissions side by side; returns the runs written. */
export async function submitBatching(redisUrl: string, redisPid: number, sink: string, body: string): Promise<number> {
  const request = runRequestSchema.parse(JSON.parse(body));
  const live = [
    { name: sink, labels: {}, kernel: release(), btf: true, captures: captureNames(), busy: false, lastSeen: new Date().toISOString(), version: '0.1.0' },
  ];
  const plan = planRun(request, live, undefined, DEFAULT_LOAD_LIMITS);
  // Connections as the API opens them, auto-pipelined (the submitter writes records and flows on the second).
  const conns = Array.from({ length: 4 }, (_, i) => connectRedis(redisUrl, `bench-submit-${i}`, { autoPipelining: true }));
  const modes = [false, true].map((batching, i) => ({
    name: batching ? 'batched' : 'one run per script call',
    submitter: new RunSubmitter(conns[2 * i + 1]!, new RunStore(conns[2 * i]!, { retentionSeconds: 3600 }), batching),
    rounds: [] as Round[],
  }));
  try {
    for (const mode of modes) await mode.submitter.submit(plan, 'bench'); // connections up, scripts loaded
    for (let i = 0; i < ROUNDS; i++) for (const mode of modes) mode.rounds.push(await round(mode.submitter, plan, redisPid));
  } finally {
    await Promise.all(modes.map((m) => m.submitter.close()));
    for (const c of conns) c.disconnect();
  }
  const sum = (rs: Round[], f: (r: Round) => number) => rs.reduce((a, r) => a + f(r), 0);
  const figures = modes.map((m) => {
    const runs = sum(m.rounds, (r) => r.runs);
    return {
      rate: (runs * 1000) / sum(m.rounds, (r) => r.ms),
      apiUs: (sum(m.rounds, (r) => r.apiCpuMs) * 1000) / runs,
      redisUs: (sum(m.rounds, (r) => r.redisCpuMs) * 1000) / runs,
    };
  });
  section(`write path only: ${CALLERS} concurrent RunSubmitter.submit callers, ${ROUNDS} alternating rounds of ${ROUND_MS} ms each`);
  const [before, after] = figures as [(typeof figures)[0], (typeof figures)[0]];
  table(
    ['', 'runs/s', 'API CPU/run', 'Redis CPU/run'],
    [
      ...modes.map((m, i) => [m.name, fmtRate(figures[i]!.rate), `${figures[i]!.apiUs.toFixed(0)} µs`, `${figures[i]!.redisUs.toFixed(0)} µs`]),
      ['batched / one per call', fmtRatio(after.rate / before.rate), fmtRatio(after.apiUs / before.apiUs), fmtRatio(after.redisUs / before.redisUs)],
    ],
    numericColumns(4),
  );
  kv('Redis-bound ceiling of the batched path', `${fmtRate(1e6 / after.redisUs)} (one core of redis-server / its CPU per run)`);
  return modes.length + sum(modes[0]!.rounds, (r) => r.runs) + sum(modes[1]!.rounds, (r) => r.runs); // + the warm-up runs
}
