// What the server tests share: a real Redis, the real API on a loopback port,
// real workers (in this process, or `sherlock worker` child processes), an
// HTTP client, an SSE reader, and bounded waiting. Everything started here is
// stopped by the stack's stop(), which the test files call in afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/connection.js';
import { captureNames } from '../../src/captures/registry.js';
import { publishHeartbeat, HEARTBEAT_INTERVAL_MS } from '../../src/nodes/registry.js';
import { connectRedis } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/server/api-server.js';
import { setLogLevel } from '../../src/util/logger.js';
import { projectRoot } from '../../src/util/paths.js';
import { startNodeWorker, type NodeWorker } from '../../src/worker/node-worker.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

export const RETENTION_SECONDS = 3600;
export const sherlockBin = join(projectRoot, 'bin', 'sherlock.js');
const distCli = join(projectRoot, 'dist', 'src', 'cli', 'main.js');

// Redis restarts and killed workers make the server log warnings by design.
setLogLevel((process.env.SHERLOCK_LOG as 'debug' | undefined) ?? 'error');

/** Why child-process tests cannot run: the CLI is not built. */
export function distSkipReason(): string | undefined {
  return existsSync(distCli) ? undefined : 'needs the compiled CLI in dist/ (make bpf && npx tsc -p tsconfig.build.json)';
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something other than undefined/false; throws naming `what` after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; ; i++) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline || i > 100_000) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Until every node in `nodes` said one of its captures is live (its probes attached): "running" is recorded before the load. */
export async function waitCaptureLive(conn: RedisClient, runId: string, nodes: string[], timeoutMs = 10_000): Promise<void> {
  await waitFor(
    `capture-live from ${nodes.join(', ')}`,
    async () => {
      const entries = await conn.xrange(keys.runEvents(runId), '-', '+');
      const live = new Set(
        entries
          .map(([, f]) => JSON.parse(f[1]!) as { type?: string; node?: string })
          .filter((e) => e.type === 'capture-live')
          .map((e) => e.node),
      );
      return nodes.every((n) => live.has(n));
    },
    { timeoutMs, intervalMs: 10 },
  );
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is (no JSON encoding), with `contentType` if given. */
  rawBody?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class Client {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  withToken(token: string | undefined): Client {
    return new Client(this.baseUrl, token);
  }

  async call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? this.token : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
      if (options.contentType) headers['content-type'] = options.contentType;
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, options?: CallOptions) {
    return this.call<T>('GET', path, options);
  }
  post<T = any>(path: string, body: unknown, options?: CallOptions) {
    return this.call<T>('POST', path, { ...options, body });
  }
  delete<T = any>(path: string, options?: CallOptions) {
    return this.call<T>('DELETE', path, options);
  }

  /** POST /v1/runs, expecting 202; returns the run id. */
  async submit(request: Record<string, unknown>): Promise<string> {
    const reply = await this.post('/v1/runs', request);
    if (reply.status !== 202) throw new Error(`POST /v1/runs answered ${reply.status}: ${reply.text}`);
    return (reply.body as { id: string }).id;
  }

  async run(id: string): Promise<RunView> {
    const reply = await this.get<RunView>(`/v1/runs/${id}`);
    if (reply.status !== 200) throw new Error(`GET /v1/runs/${id} answered ${reply.status}: ${reply.text}`);
    return reply.body;
  }

  /** Polls the run until `done(run)` holds. */
  waitRun(id: string, done: (run: RunView) => boolean, what: string, timeoutMs = 15_000): Promise<RunView> {
    return waitFor(
      `run ${id}: ${what}`,
      async () => {
        const run = await this.run(id);
        return done(run) ? run : undefined;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  waitFinal(id: string, timeoutMs = 15_000): Promise<RunView> {
    return this.waitRun(id, (r) => ['completed', 'partial', 'failed', 'cancelled'].includes(r.status), 'a final status', timeoutMs);
  }

  /** An artifact, decompressed by fetch (content-encoding: gzip). */
  async artifact(id: string, node: string, name: string): Promise<Reply> {
    return this.get(`/v1/runs/${id}/nodes/${node}/artifacts/${name}`);
  }
}

export interface NodeView {
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  position?: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  captures?: {
    capture: string;
    kind: string;
    count: number;
    dropped: number;
    durationMs: number;
    cancelled: boolean;
    artifact?: string;
    bytes?: number;
    error?: string;
  }[];
}

export interface RunView {
  id: string;
  status: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  requestedBy: string;
  plan: { durationMs: number; nodes: string[]; steps: { capture: string; params: Record<string, unknown> }[] };
  nodes: Record<string, NodeView>;
  links: { self: string; events: string };
}

export interface SseEvent {
  id: string;
  event: string;
  data: any;
  /** Date.now() when this client read it. */
  receivedAt: number;
}

/** Reads a run's SSE stream until the server closes it; throws if it is still open after timeoutMs. */
export async function readEvents(
  client: Client,
  id: string,
  { timeoutMs = 20_000, onEvent }: { timeoutMs?: number; onEvent?: (e: SseEvent) => void } = {},
): Promise<{ events: SseEvent[]; contentType: string | null }> {
  const res = await fetch(`${client.baseUrl}/v1/runs/${id}/events`, {
    headers: { authorization: `Bearer ${client.token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200 || !res.body) throw new Error(`GET events answered ${res.status}: ${await res.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event: Partial<SseEvent> = { receivedAt: Date.now() };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') data.push(value);
      }
      if (!data.length) continue;
      event.data = JSON.parse(data.join('\n'));
      events.push(event as SseEvent);
      onEvent?.(event as SseEvent);
    }
  }
  return { events, contentType: res.headers.get('content-type') };
}

/** Runs /bin/echo with the marker (an exec every execsnoop sees) and waits for it to exit. */
export function execMarker(marker: string): Promise<number | null> {
  const child = spawn('/bin/echo', [marker], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('/bin/echo did not exit within 5 s')), 5000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Makes a node look live with heartbeats and no worker behind it (its queue is never consumed). */
export function fakeNode(redis: RedisClient, name: string): { stop(): void; ready: Promise<void> } {
  const beat = () =>
    publishHeartbeat(redis, { name, labels: { fake: 'yes' }, kernel: release(), btf: true, captures: captureNames(), busy: false, version: '0.1.0' });
  const ready = beat();
  const timer = setInterval(() => void beat().catch(() => {}), HEARTBEAT_INTERVAL_MS);
  return { ready, stop: () => clearInterval(timer) };
}

export interface ChildWorker {
  node: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves with [code, signal] once it exited. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Sends `signal` (if still running) and waits (≤ timeoutMs) for the exit; SIGKILL if it did not. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<[number | null, NodeJS.Signals | null]>;
}

/** `node bin/sherlock.js worker --node NAME` with REDIS_URL, as a child process. */
export function spawnWorker(node: string, redisUrl: string): ChildWorker {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl, SHERLOCK_LOG: 'error' };
  delete env.SHERLOCK_NODE;
  const child = spawn(process.execPath, [sherlockBin, 'worker', '--node', node], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('exit', (code, signal) => resolve([code, signal]));
    child.once('error', () => resolve([null, null]));
  });
  return {
    node,
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
      const result = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (result === 'late') {
        child.kill('SIGKILL');
        return exited;
      }
      return result;
    },
  };
}

export interface Stack {
  redis: TestRedis;
  api: ApiServer;
  /** A plain connection for the test's own reads and writes. */
  conn: RedisClient;
  admin: Client;
  adminToken: string;
  workers: Map<string, NodeWorker>;
  startWorker(node: string): Promise<NodeWorker>;
  stopWorker(node: string): Promise<void>;
  /** Stops workers, the API and Redis, and removes Redis's data; safe to call twice. */
  stop(): Promise<void>;
}

/** Settings a test may give the API: its config file, environment or ready trigger settings. */
export type StackApiOptions = Pick<ApiServerOptions, 'configFile' | 'env' | 'triggers'>;

/** Redis, the API on a free loopback port, an admin token, and in-process workers for `nodes`. */
export async function startStack(nodes: string[] = [], apiOptions: StackApiOptions = {}): Promise<Stack> {
  const redis = await startTestRedis();
  let api: ApiServer | undefined;
  let conn: RedisClient | undefined;
  const workers = new Map<string, NodeWorker>();
  const stop = async () => {
    // A test that failed while Redis was down: bring it back, or closing the
    // workers and the API would wait for it forever.
    if (redis.pid === undefined) await redis.start().catch(() => {});
    for (const worker of workers.values()) await worker.stop();
    workers.clear();
    await api?.stop();
    api = undefined;
    conn?.disconnect();
    conn = undefined;
    await redis.dispose();
  };
  try {
    api = await startApiServer({ redisUrl: redis.url, port: 0, host: '127.0.0.1', retentionSeconds: RETENTION_SECONDS, ...apiOptions });
    conn = connectRedis(redis.url, 'sherlock-test');
    const { secret } = await api.tokens.create('test-admin', ['admin'], 'test');
    const startWorker = async (node: string) => {
      const worker = await startNodeWorker({ redisUrl: redis.url, node, labels: { role: 'test' }, retentionSeconds: RETENTION_SECONDS });
      workers.set(node, worker);
      return worker;
    };
    for (const node of nodes) await startWorker(node);
    return {
      redis,
      api,
      conn,
      admin: new Client(api.url, secret),
      adminToken: secret,
      workers,
      startWorker,
      async stopWorker(node) {
        await workers.get(node)?.stop();
        workers.delete(node);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Fails unless an API error reply is the JSON error shape, 4xx, without a stack trace. */
export function isJsonError(reply: Reply): reply is Reply<{ error: { code: string; message: string; details?: unknown } }> {
  const e = (reply.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return (
    reply.status >= 400 &&
    reply.status < 500 &&
    (reply.headers.get('content-type') ?? '').includes('application/json') &&
    typeof e?.code === 'string' &&
    typeof e.message === 'string' &&
    !/\n\s+at /.test(reply.text)
  );
}
