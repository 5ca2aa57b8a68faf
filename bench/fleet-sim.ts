// Fleet simulation, no BPF: N idle node workers running Sherlock's own worker
// code (several per child process) against one redis-server and the API in
// this process. Prints Redis memory and CPU per idle worker and the API's CPU
// over an idle window, then fan-out latency of a cputhrottle run (it samples
// cgroup files, no BPF object) to 10, 100 and N nodes, from the run record.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fmtMs, kv, note, section, table, verdict } from './report.js';
import { requestJson, sleep, startBenchStack, stopChildren, trackChild } from './server-common.js';

const WORKERS = Number(process.env.SHERLOCK_FLEET_SIM_WORKERS ?? 300);
const CHILDREN = 4;
const IDLE_MS = 10_000;
const WINDOW_MS = 1_000;
const START_TIMEOUT_MS = 240_000;

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
  const child = trackChild(spawn(process.execPath, [script, redisUrl, 'sim', String(from), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] }));
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
  if (reply.status !== 202) throw new Error(`POST /v1/runs answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  const id = reply.body.id as string;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = (await requestJson(`${url}/v1/runs/${id}`, token)).body;
    if (['completed', 'failed', 'partial', 'cancelled'].includes(run.status) || Date.now() > deadline) {
      const per = Object.values(run.nodes as Record<string, { status: string; startedAt?: string; finishedAt?: string }>);
      const started = per.map((n) => Date.parse(n.startedAt ?? '')).filter(Number.isFinite);
      const finished = per.map((n) => Date.parse(n.finishedAt ?? '')).filter(Number.isFinite);
      const done = Date.parse(run.finishedAt ?? run.completedAt ?? '');
      return {
        status: String(run.status),
        ok: per.filter((n) => n.status === 'completed').length,
        lastStarted: Math.max(...started) - sent,
        settle: done - Math.max(...finished),
      };
    }
    await sleep(100);
  }
}

export async function fleetSim(): Promise<void> {
  const stack = await startBenchStack('fleet-sim');
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
    for (const n of sizes) {
      const r = await fanOut(
        stack.api.url,
        stack.token,
        Array.from({ length: n }, (_, i) => `sim-${i}`),
      );
      allOk &&= r.status === 'completed' && r.ok === n;
      rows.push([String(n), r.status, `${r.ok}/${n}`, fmtMs(r.lastStarted), fmtMs(r.settle)]);
    }
    table(['nodes', 'status', 'nodes ok', 'submit → all started', 'last node done → run done'], rows);
    verdict(allOk && redisCpu <= 0.05, `idle Redis ${(redisCpu * 100).toFixed(2)}% of a core vs ≤5%${allOk ? '' : '; NOT every run completed on every node'}`);
  } finally {
    await stopChildren(children, 'SIGTERM', 15_000);
    await stack.stop();
  }
}
