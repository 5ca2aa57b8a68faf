// A small server stack for the runbook tests: a real Redis (test/helpers/redis.ts),
// the real API on a loopback port with a chosen runbooks directory, tokens,
// and in-process workers. stop() ends everything it started.
import type { RedisClient } from '../../src/redis/connection.js';
import { connectRedis } from '../../src/redis/connection.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { setLogLevel } from '../../src/util/logger.js';
import { startNodeWorker, type NodeWorker } from '../../src/worker/node-worker.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

setLogLevel((process.env.SHERLOCK_LOG as 'debug' | undefined) ?? 'error');

export const RETENTION_SECONDS = 3600;

export interface Reply<T = any> {
  status: number;
  body: T;
  text: string;
}

export interface RunbookStack {
  redis: TestRedis;
  api: ApiServer;
  conn: RedisClient;
  adminToken: string;
  readToken: string;
  workers: NodeWorker[];
  call<T = any>(method: string, path: string, options?: { body?: unknown; token?: string }): Promise<Reply<T>>;
  stop(): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export async function startRunbookStack(options: { runbooksDir?: string; nodes?: string[]; configFile?: string } = {}): Promise<RunbookStack> {
  const redis = await startTestRedis();
  let api: ApiServer | undefined;
  let conn: RedisClient | undefined;
  const workers: NodeWorker[] = [];
  const stop = async () => {
    for (const w of workers.splice(0)) await w.stop();
    await api?.stop();
    api = undefined;
    conn?.disconnect();
    conn = undefined;
    await redis.dispose();
  };
  try {
    api = await startApiServer({
      redisUrl: redis.url,
      port: 0,
      host: '127.0.0.1',
      retentionSeconds: RETENTION_SECONDS,
      ...(options.runbooksDir ? { runbooksDir: options.runbooksDir } : {}),
      ...(options.configFile ? { configFile: options.configFile } : {}),
    });
    conn = connectRedis(redis.url, 'runbook-test');
    const admin = await api.tokens.create('runbook-admin', ['admin'], 'test');
    const reader = await api.tokens.create('runbook-reader', ['runs:read'], 'test');
    for (const node of options.nodes ?? []) {
      workers.push(await startNodeWorker({ redisUrl: redis.url, node, labels: { role: 'test' }, retentionSeconds: RETENTION_SECONDS }));
    }
    const base = api.url;
    return {
      redis,
      api,
      conn,
      adminToken: admin.secret,
      readToken: reader.secret,
      workers,
      async call(method, path, { body, token = admin.secret } = {}) {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        return { status: res.status, body: parsed as never, text };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
