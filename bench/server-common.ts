// What the server benchmarks share: a private Redis (temp data dir), the real
// API on a loopback port, an admin token, heartbeats for nodes no worker
// consumes, `sherlock worker` child processes, and a keep-alive HTTP load
// loop. Every process started here is killed by pid when the benchmark ends,
// and by an exit hook if the run is interrupted.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RedisClient } from '../src/redis/connection.js';
import { captureNames } from '../src/captures/registry.js';
import { HEARTBEAT_INTERVAL_MS, publishHeartbeat } from '../src/nodes/registry.js';
import { connectRedis } from '../src/redis/connection.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../src/redis/embedded.js';
import { startApiServer, type ApiServer } from '../src/server/api-server.js';
import { projectRoot } from '../src/util/paths.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- child processes, killed by pid whatever happens ----

const children = new Set<ChildProcess>();
let exitHook = false;

function killAllNow(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

/** Tracks a child so an interrupted benchmark (process.exit) still kills it. */
export function trackChild(child: ChildProcess): ChildProcess {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', killAllNow);
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

/** Stops children: `signal` first, SIGKILL after graceMs; resolves once all exited. */
export async function stopChildren(list: ChildProcess[], signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  const running = list.filter((c) => c.exitCode === null && c.signalCode === null);
  const exits = running.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
  for (const c of running) c.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([Promise.all(exits).then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
  clearTimeout(timer);
  if (late) {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(exits);
  }
}

// ---- the stack ----

export interface BenchStack {
  redis: EmbeddedRedis;
  api: ApiServer;
  conn: RedisClient;
  token: string;
  /** Heartbeats for nodes that no worker consumes (their queues only fill). */
  fakeNodes(names: string[]): void;
  stop(): Promise<void>;
}

export async function startBenchStack(label: string): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), `sherlock-bench-${label}-`));
  const redis = await startEmbeddedRedis({ dataDir });
  trackChild(redis.process);
  let api: ApiServer | undefined;
  let conn: RedisClient | undefined;
  const timers: NodeJS.Timeout[] = [];
  const stop = async () => {
    for (const t of timers) clearInterval(t);
    await api?.stop();
    conn?.disconnect();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // Beyond the default queue limits (100 per node, 2000 in all): a benchmark queues more than that.
    const configFile = join(dataDir, 'sherlock.yaml');
    writeFileSync(configFile, 'load: {maxQueuedRunsPerNode: 100000, maxQueuedRuns: 1000000}\n', { mode: 0o600 });
    api = await startApiServer({ redisUrl: redis.url, port: 0, host: '127.0.0.1', retentionSeconds: 3600, configFile });
    conn = connectRedis(redis.url, 'sherlock-bench');
    const { secret } = await api.tokens.create('bench', ['admin'], 'bench');
    const c = conn;
    return {
      redis,
      api,
      conn: c,
      token: secret,
      fakeNodes(names) {
        const beat = () =>
          Promise.all(
            names.map((name) =>
              publishHeartbeat(c, { name, labels: {}, kernel: release(), btf: true, captures: captureNames(), busy: false, version: '0.1.0' }),
            ),
          ).catch(() => {});
        void beat();
        timers.push(setInterval(beat, HEARTBEAT_INTERVAL_MS));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** SHERLOCK_BENCH_WORKER_PROFILE=DIR: each worker writes a V8 CPU profile there when it stops. */
const workerProfileDir = process.env.SHERLOCK_BENCH_WORKER_PROFILE;

/**
 * When the workers spawned with `traceMajorGcs` ran a major garbage collection (performance.now() of
 * this process, as their --trace-gc line arrived): 50 identical workers tend to collect in lockstep.
 */
export const workerMajorGcs: number[] = [];

/** `node bin/sherlock.js worker --node NAME [args]` with REDIS_URL, tracked. */
export function spawnWorker(node: string, redisUrl: string, args: string[] = [], options: { traceMajorGcs?: boolean } = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl, SHERLOCK_LOG: 'error' };
  delete env.SHERLOCK_NODE;
  const profile = workerProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${workerProfileDir}`] : [];
  const trace = options.traceMajorGcs ? ['--trace-gc'] : [];
  const child = trackChild(
    spawn(process.execPath, [...profile, ...trace, join(projectRoot, 'bin', 'sherlock.js'), 'worker', '--node', node, ...args], {
      env,
      stdio: ['ignore', options.traceMajorGcs ? 'pipe' : 'ignore', 'inherit'],
    }),
  );
  if (options.traceMajorGcs) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('Mark-Compact')) workerMajorGcs.push(performance.now());
    });
  }
  return child;
}

// ---- HTTP ----

export interface JsonReply {
  status: number;
  body: any;
}

/** One JSON request (no keep-alive pooling concerns: for setup and polling). */
export async function requestJson(url: string, token: string, method = 'GET', body?: unknown): Promise<JsonReply> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** CPU time (ms) a process has used so far, from /proc. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** RSS (bytes) of a process, from /proc. */
export function processRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

export interface StreamEvent {
  type: string;
  time: string;
  node?: string;
  status?: string;
  [field: string]: unknown;
}

/**
 * Follows a run's SSE stream until the server closes it (the run ended) or
 * timeoutMs; calls onEvent with each event and performance.now() at arrival.
 */
export async function followRun(
  baseUrl: string,
  token: string,
  runId: string,
  onEvent: (event: StreamEvent, arrivedAt: number) => void,
  timeoutMs: number,
): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/runs/${runId}/events`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200 || !res.body) throw new Error(`events of ${runId}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const arrivedAt = performance.now();
    buffered += decoder.decode(chunk, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) onEvent(JSON.parse(data) as StreamEvent, arrivedAt);
    }
  }
}
