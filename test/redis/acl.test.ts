// The embedded Redis as `sherlock up` starts it: authenticated, its
// credentials readable by their owner only, and ACL users with least
// privilege. A local user without the credential can neither read nor write
// a Sherlock key; a worker's credential cannot touch tokens or the audit log;
// the API and a worker on their own credentials still run a real capture
// end to end, and Redis logs no command they were refused.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aclFileLines, REDIS_USERS, urlWithUser, type RedisCredentials } from '../../src/redis/acl.js';
import { loadOrCreateRedisCredentials } from '../../src/redis/credentials.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { startNodeWorker, type NodeWorker } from '../../src/worker/node-worker.js';
import { kernelSkipReason } from '../helpers/kernel.js';
import { Client, RETENTION_SECONDS } from '../server/harness.js';

const asNobody = (args: string[]) =>
  spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', ...args], { encoding: 'utf8', timeout: 10_000 });
const rootSkip = process.getuid?.() === 0 ? undefined : 'needs root to act as another local user';

describe('Redis as sherlock up runs it: authenticated, least privilege', () => {
  let stateDir: string;
  let redis: EmbeddedRedis;
  let credentials: RedisCredentials;
  let credentialsFile: string;
  const clients: Redis[] = [];
  const as = (role: keyof RedisCredentials) => {
    const client = new Redis(urlWithUser(redis.url, role, credentials), { maxRetriesPerRequest: 1, lazyConnect: false });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'sherlock-acl-'));
    ({ credentials, file: credentialsFile } = loadOrCreateRedisCredentials(stateDir));
    redis = await startEmbeddedRedis({ dataDir: join(stateDir, 'redis'), acl: (sha) => aclFileLines(credentials, sha) });
    await as('admin').hset('{sherlock}:tokens', 'seed', '{}');
  }, 20_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('credentials and the ACL file are mode 0600, stable across starts, never in clear in the ACL file', () => {
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    const aclFile = join(stateDir, 'redis', 'users.acl');
    expect(statSync(aclFile).mode & 0o777).toBe(0o600);
    expect(loadOrCreateRedisCredentials(stateDir).credentials).toEqual(credentials);
    const text = execFileSync('cat', [aclFile], { encoding: 'utf8' });
    for (const secret of Object.values(credentials)) expect(text).not.toContain(secret);
  });

  it.skipIf(Boolean(rootSkip))(
    `a local non-root user without the credential can neither read nor write a Sherlock key${rootSkip ? ` (skipped: ${rootSkip})` : ''}`,
    () => {
      expect(asNobody(['cat', credentialsFile]).status).not.toBe(0);
      const cli = (...args: string[]) => asNobody(['redis-cli', '--no-auth-warning', '-h', '127.0.0.1', '-p', String(redis.port), ...args]);
      for (const command of [
        ['HGETALL', '{sherlock}:tokens'],
        ['HSET', '{sherlock}:tokens', 'x', '{"scopes":["admin"]}'],
        ['GET', '{sherlock}:run:x'],
        ['KEYS', '*'],
      ]) {
        const out = cli(...command);
        expect(out.stdout + out.stderr).toMatch(/NOAUTH|NOPERM|WRONGPASS/);
      }
      // Guessing a user without its password does not help either.
      const guess = cli('--user', REDIS_USERS.api, '--pass', 'guess', 'HGETALL', '{sherlock}:tokens');
      expect(guess.stdout + guess.stderr).toMatch(/WRONGPASS|invalid username-password/);
    },
  );

  it('a worker credential cannot create a token, read tokens or touch the audit log', async () => {
    const worker = as('worker');
    await expect(worker.hset('{sherlock}:tokens', 'x', '{"scopes":["admin"]}')).rejects.toThrow(/NOPERM/);
    await expect(worker.hgetall('{sherlock}:tokens')).rejects.toThrow(/NOPERM/);
    await expect(worker.xadd('{sherlock}:audit', '*', 'entry', '{}')).rejects.toThrow(/NOPERM/);
    await expect(worker.xrange('{sherlock}:audit', '-', '+')).rejects.toThrow(/NOPERM/);
    // Its own metrics hash only: the API's counters (runs, deliveries) are out of its reach.
    await expect(worker.hincrbyfloat('{sherlock}:metrics', 'x', 1)).rejects.toThrow(/NOPERM/);
    expect(await worker.hincrbyfloat('{sherlock}:worker-metrics', 'acl-probe', 1)).toBe('1');
    await worker.hdel('{sherlock}:worker-metrics', 'acl-probe');
    await expect(worker.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
    await expect(worker.call('CONFIG', 'SET', 'dir', '/tmp')).rejects.toThrow(/NOPERM/);
    await expect(worker.eval("return redis.call('HSET', '{sherlock}:tokens', 'y', '1')", 0)).rejects.toThrow(/NOPERM|can't access/);
    const api = as('api');
    await expect(api.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
    await expect(api.set('elsewhere', '1')).rejects.toThrow(/NOPERM/);
    expect(await as('admin').hkeys('{sherlock}:tokens')).toEqual(['seed']);
  });

  const kernelSkip = kernelSkipReason();
  it.skipIf(Boolean(kernelSkip))(
    `the API and a worker on their own credentials run a capture end to end, with no command refused${kernelSkip ? ` (skipped: ${kernelSkip})` : ''}`,
    async () => {
      const admin = as('admin');
      await admin.call('ACL', 'LOG', 'RESET');
      let api: ApiServer | undefined;
      let worker: NodeWorker | undefined;
      try {
        api = await startApiServer({
          redisUrl: urlWithUser(redis.url, 'api', credentials),
          port: 0,
          host: '127.0.0.1',
          retentionSeconds: RETENTION_SECONDS,
          env: {},
        });
        worker = await startNodeWorker({
          redisUrl: urlWithUser(redis.url, 'worker', credentials),
          node: 'acl-node',
          labels: {},
          retentionSeconds: RETENTION_SECONDS,
        });
        const { secret } = await api.tokens.create('acl-admin', ['admin'], 'test');
        const client = new Client(api.url, secret);
        expect((await client.post('/v1/tokens', { name: 'reader', scopes: ['runs:read'] })).status).toBe(201);
        const id = await client.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['acl-node'] } });
        const run = await client.waitFinal(id, 20_000);
        expect(run.status).toBe('completed');
        expect((await client.artifact(id, 'acl-node', 'execsnoop.json')).status).toBe(200);
        const cancelled = await client.submit({ steps: [{ capture: 'execsnoop' }], duration: '30s', targets: { nodes: ['acl-node'] } });
        await client.waitRun(cancelled, (r) => r.status === 'running', 'running');
        expect((await client.delete(`/v1/runs/${cancelled}`)).status).toBe(202);
        expect((await client.waitFinal(cancelled, 15_000)).status).toBe('cancelled');
        expect((await client.get('/v1/audit')).status).toBe(200);
        // What the worker pushed through its own hash reaches /metrics.
        const metrics = (await client.get('/metrics')).text;
        expect(metrics).toContain('sherlock_captures_total{capture="execsnoop",outcome="completed"} 1');
        expect(metrics).toContain('sherlock_node_jobs_total{node="acl-node",status="completed"} 1');
        expect(metrics).toContain('sherlock_runs_total{runbook="ad-hoc",status="completed"} 1');
      } finally {
        await worker?.stop();
        await api?.stop();
      }
      const refused = (await admin.call('ACL', 'LOG')) as unknown[];
      expect(refused).toEqual([]);
    },
    60_000,
  );
});
