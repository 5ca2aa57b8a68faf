// Fleet simulation, no BPF: N idle node workers running Sherlock's own worker
// code (several per child process) against one redis-server and the API in
// this process. Prints Redis memory and CPU per idle worker and the API's CPU
// over an idle window, then fan-out latency of a cputhrottle run (it samples
// cgroup files, no BPF object) to 10, 100 and N nodes, from the run record.
// Then the same with BullMQ alone (fleet-sim-baseline.ts) on a fresh Redis,
// side by side with ratios: what Sherlock adds on top of its queue.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { baselineFanOut, spawnBaselineChild } from './fleet-sim-baseline.js';
import { fmtMs, fmtRatio, kv, median, note, section, table, verdict } from './report.js';
import { requestJson, sleep, startBenchStack, stopChildren, trackChild } from './server-common.js';

const WORKERS = Number(process.env.SHERLOCK_FLEET_SIM_WORKERS ?? 300);
const CHILDREN = 4;
const IDLE_MS = 10_000;
const WINDOW_MS = 1_000;
const START_TIMEOUT_MS = 240_000;
/** How often the run is read while it goes (its figures are the record's own stamps, not the poll's time). */
const POLL_MS = Number(process.env.SHERLOCK_FLEET_SIM_POLL_MS ?? 100);
/** A directory: the first simulation process writes a V8 CPU profile there (--cpu-prof) when it stops. */
const PROFILE_DIR = process.env.SHERLOCK_FLEET_SIM_PROFILE;
/** How often the largest fan-out is repeated on each side (its figures are the medians): one run moves by ±50% here, a median of 3 by ±15%. */
const ROUNDS = Number(process.env.SHERLOCK_FLEET_SIM_ROUNDS ?? 5);
/** `0`: Sherlock's figures only, without the BullMQ-alone side (for A/B rounds of two builds). */
const WITH_BASELINE = process.env.SHERLOCK_FLEET_SIM_BASELINE !== '0';

const info = async (conn: { info(section: string): Promise<string> }, part: string) =>
  Object.fromEntries(
    (await conn.info(part))
      .split('\r\n')
      .filter((l) => l.includes(':'))
      .map((l) => l.split(':') as [string, string]),
  );
const redisCpuS = async (conn: any) => {
  const i = await info(conn, 'cpu');
  return Number(i.used_cpu_user) + Number(i.used_cpu_sys);
};

function spawnChild(redisUrl: string, from: number, count: number): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./fleet-sim-worker.js', import.meta.url));
  const profile = PROFILE_DIR && from === 0 ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = trackChild(
    spawn(process.execPath, [...profile, script, redisUrl, 'sim', String(from), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workers ${from}..${from + count - 1} not ready in ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`a simulation child exited (${code})`)));
  });
}

async function fanOut(url: string, token: string, nodes: string[]) {
  const sent = Date.now();
  const reply = await requestJson(`${url}/v1/runs`, token, 'POST', { steps: [{ capture: 'cputhrottle' }], duration: WINDOW_MS, targets: { nodes } });
  const accepted = Date.now() - sent;
  if (reply.status !== 202) throw new Error(`POST /v1/runs answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  const id = reply.body.id as string;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = (await requestJson(`${url}/v1/runs/${id}`, token)).body;
    if (['completed', 'failed', 'partial', 'cancelled'].includes(run.status) || Date.now() > deadline) {
      const byNode = run.nodes as Record<string, { status: string; startedAt?: string; finishedAt?: string }>;
      const per = Object.values(byNode);
      const started = per.map((n) => Date.parse(n.startedAt ?? '')).filter(Number.isFinite);
      // Per simulation process (its node range): whether the spread is one process's or all of them.
      const perChild = Math.ceil(WORKERS / CHILDREN);
      const byChild = Array.from({ length: CHILDREN }, (_, c) => {
        const own = Object.entries(byNode)
          .filter(([name]) => Math.floor(Number(name.slice(4)) / perChild) === c)
          .map(([, n]) => Date.parse(n.startedAt ?? ''))
          .filter(Number.isFinite);
        return own.length ? `${Math.min(...own) - sent}-${Math.max(...own) - sent}` : '-';
      });
      const finished = per.map((n) => Date.parse(n.finishedAt ?? '')).filter(Number.isFinite);
      const done = Date.parse(run.finishedAt ?? run.completedAt ?? '');
      return {
        status: String(run.status),
        ok: per.filter((n) => n.status === 'completed').length,
        accepted,
        firstStarted: Math.min(...started) - sent,
        lastStarted: Math.max(...started) - sent,
        settle: done - Math.max(...finished),
        byChild,
      };
    }
    await sleep(POLL_MS);
  }
}

/** Redis's busiest commands since the last RESETSTAT: name total-ms (calls). */
async function topCommands(conn: { info(section: string): Promise<string> }): Promise<string> {
  const stats = Object.entries(await info(conn, 'commandstats')).map(([k, v]) => {
    const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=')));
    return { name: k.replace('cmdstat_', ''), usec: Number(f.usec), calls: Number(f.calls) };
  });
  const total = stats.reduce((a, s) => a + s.usec, 0);
  return (
    `${(total / 1e3).toFixed(0)} ms: ` +
    stats
      .sort((a, b) => b.usec - a.usec)
      .slice(0, 8)
      .map((s) => `${s.name} ${(s.usec / 1e3).toFixed(0)} (${s.calls})`)
      .join(', ')
  );
}

const GOAL_START_MS = 600;
const GOAL_IDLE_CPU = 0.05;

/** BullMQ alone: idle Redis CPU (share of a core) and submit → all started (ms) per fan-out size. */
async function baseline(sizes: number[]): Promise<{ redisCpu: number; started: Map<number, number> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sherlock-bench-fleet-baseline-'));
  const redis = await startEmbeddedRedis({ dataDir });
  trackChild(redis.process);
  const conn = connectRedis(redis.url, 'bench-baseline');
  const children: ChildProcess[] = [];
  try {
    const per = Math.ceil(WORKERS / CHILDREN);
    for (let c = 0; c < CHILDREN; c++)
      children.push(await spawnBaselineChild(redis.url, c * per, Math.min(per, WORKERS - c * per), WINDOW_MS, START_TIMEOUT_MS));
    await sleep(2_000);
    const cpu0 = await redisCpuS(conn);
    await sleep(IDLE_MS);
    const redisCpu = ((await redisCpuS(conn)) - cpu0) / (IDLE_MS / 1000);
    const started = new Map<number, number>();
    for (const n of sizes) {
      const rounds: number[] = [];
      for (let r = 0; r < (n === WORKERS ? ROUNDS : 1); r++) {
        rounds.push(await baselineFanOut(conn, n));
        await sleep(WINDOW_MS + 500);
      }
      started.set(n, median(rounds));
    }
    return { redisCpu, started };
  } finally {
    await stopChildren(children, 'SIGTERM', 15_000);
    conn.disconnect();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function fleetSim(): Promise<void> {
  const stack = await startBenchStack('fleet-sim');
  let stopped = false;
  const stopStack = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };
  const children: ChildProcess[] = [];
  try {
    const mem0 = Number((await info(stack.conn, 'memory')).used_memory);
    const clients0 = Number((await info(stack.conn, 'clients')).connected_clients);
    const per = Math.ceil(WORKERS / CHILDREN);
    const t0 = performance.now();
    for (let c = 0; c < CHILDREN; c++) children.push(await spawnChild(stack.redis.url, c * per, Math.min(per, WORKERS - c * per)));
    note(`${WORKERS} node workers (startNodeWorker) in ${CHILDREN} processes, one redis-server, the API in this process`);
    kv('all workers started after', fmtMs(performance.now() - t0));
    await sleep(2_000);
    const cpuR0 = await redisCpuS(stack.conn);
    const cpuA0 = process.cpuUsage();
    await sleep(IDLE_MS);
    const redisCpu = ((await redisCpuS(stack.conn)) - cpuR0) / (IDLE_MS / 1000);
    const api = process.cpuUsage(cpuA0);
    const apiCpu = (api.user + api.system) / 1e3 / IDLE_MS;
    const mem = Number((await info(stack.conn, 'memory')).used_memory) - mem0;
    const clients = Number((await info(stack.conn, 'clients')).connected_clients) - clients0;
    section(`idle, ${IDLE_MS / 1000} s window`);
    table(
      ['figure', 'total', 'per worker'],
      [
        ['Redis used_memory', `${(mem / 2 ** 20).toFixed(2)} MiB`, `${(mem / WORKERS / 1024).toFixed(1)} KiB`],
        ['Redis CPU', `${(redisCpu * 100).toFixed(2)}% of a core`, `${((redisCpu * 100) / WORKERS).toFixed(4)}%`],
        ['Redis connections', String(clients), (clients / WORKERS).toFixed(1)],
        ['API process CPU', `${(apiCpu * 100).toFixed(2)}% of a core`, '-'],
      ],
    );
    section(`fan-out of a ${WINDOW_MS} ms cputhrottle run, ms`);
    const rows: string[][] = [];
    const sizes = [10, 100, WORKERS].filter((n, i, a) => n <= WORKERS && a.indexOf(n) === i);
    let allOk = true;
    const startedMs = new Map<number, number>();
    const simNodes = (n: number) => Array.from({ length: n }, (_, i) => `sim-${i}`);
    // A worker's first run imports the run path (~0.2 s of one core per host, once; node-worker.ts). On a fleet each
    // host pays it on its own CPU; here 250 hosts share one process and 4 processes share 2 cores, and a cold 1,000-node
    // run paid three processes' imports at once inside its start. So: one cold run to every node first (shown, not judged),
    // then the measured runs, as server-fanout does.
    const cold = await fanOut(stack.api.url, stack.token, simNodes(WORKERS));
    allOk &&= cold.status === 'completed' && cold.ok === WORKERS;
    rows.push([
      `${WORKERS} (cold)`,
      cold.status,
      `${cold.ok}/${WORKERS}`,
      fmtMs(cold.accepted),
      fmtMs(cold.firstStarted),
      fmtMs(cold.lastStarted),
      fmtMs(cold.settle),
    ]);
    for (const n of sizes) {
      const largest = n === WORKERS;
      const rounds: number[] = [];
      for (let round = 1; round <= (largest ? ROUNDS : 1); round++) {
        const first = largest && round === 1;
        if (first) await stack.conn.config('RESETSTAT');
        const cpu0 = process.cpuUsage();
        const r = await fanOut(stack.api.url, stack.token, simNodes(n));
        if (first) {
          const cpu = process.cpuUsage(cpu0);
          kv(`${n} nodes: API process CPU over the run (with the bench's ${POLL_MS} ms reads)`, fmtMs((cpu.user + cpu.system) / 1e3));
          kv(`${n} nodes: Redis time by command over the run`, await topCommands(stack.conn));
        }
        allOk &&= r.status === 'completed' && r.ok === n;
        rounds.push(r.lastStarted);
        if (largest) kv(`${n} nodes, run ${round}: first-last started per simulation process, ms`, r.byChild.join(', '));
        const label = largest && ROUNDS > 1 ? `${n} #${round}` : String(n);
        rows.push([label, r.status, `${r.ok}/${n}`, fmtMs(r.accepted), fmtMs(r.firstStarted), fmtMs(r.lastStarted), fmtMs(r.settle)]);
      }
      startedMs.set(n, median(rounds));
    }
    table(['nodes', 'status', 'nodes ok', 'submit → 202', 'submit → first started', 'submit → all started', 'last node done → run done'], rows);
    await stopChildren(children.splice(0), 'SIGTERM', 15_000);
    await stopStack();

    if (!WITH_BASELINE) {
      note('BullMQ-alone side skipped (SHERLOCK_FLEET_SIM_BASELINE=0)');
      return;
    }
    const base = await baseline(sizes);
    section(`side by side: Sherlock vs BullMQ alone (${WORKERS} plain workers on per-node queues, a fresh redis-server)`);
    const startedOf = (n: number) => startedMs.get(n)!;
    const lines: string[][] = [
      [
        'idle Redis CPU, % of a core',
        (redisCpu * 100).toFixed(2),
        (base.redisCpu * 100).toFixed(2),
        fmtRatio(redisCpu / base.redisCpu),
        `≤${GOAL_IDLE_CPU * 100}`,
      ],
      ...sizes.map((n) => [
        `${n} nodes: submit → all started${n === WORKERS && ROUNDS > 1 ? ` (median of ${ROUNDS})` : ''}`,
        fmtMs(startedOf(n)),
        fmtMs(base.started.get(n)!),
        fmtRatio(startedOf(n) / base.started.get(n)!),
        n === 1000 ? `≤${GOAL_START_MS} ms` : '-',
      ]),
    ];
    table(['figure', 'Sherlock', 'BullMQ alone', 'Sherlock/BullMQ', 'goal'], lines);
    const startMs = startedOf(WORKERS);
    verdict(
      allOk && redisCpu <= GOAL_IDLE_CPU && (WORKERS < 1000 || startMs <= GOAL_START_MS),
      `idle Redis ${(redisCpu * 100).toFixed(2)}% of a core vs ≤5%; ${WORKERS} nodes started in ${fmtMs(startMs)}${WORKERS >= 1000 ? ' vs ≤600 ms' : ''}${allOk ? '' : '; NOT every run completed on every node'}`,
    );
  } finally {
    await stopChildren(children, 'SIGTERM', 15_000);
    await stopStack();
  }
}
