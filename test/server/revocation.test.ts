// Revocation is immediate on every replica: two API processes (this one and a
// `sherlock api` child) both accept a token, one revokes it, and both refuse
// it within 100 ms (the revocation is published; each replica drops its cache).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded.js';
import { redisServerChildren } from '../helpers/redis.js';
import { Client, distSkipReason, sherlockBin, startStack, waitFor, type Stack } from './harness.js';

const skip = distSkipReason();

describe.skipIf(Boolean(skip))(`token revocation across API replicas${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let child: ChildProcess | undefined;
  let other: Client;

  beforeAll(async () => {
    stack = await startStack([]);
    const port = await freePort();
    child = spawn(process.execPath, [sherlockBin, 'api', '--redis', stack.redis.url, '--port', String(port)], {
      env: { ...process.env, SHERLOCK_LOG: 'error', SHERLOCK_ADMIN_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitFor('the second API process', () => out.includes('listening on'), { timeoutMs: 20_000 });
    other = new Client(`http://127.0.0.1:${port}`);
  }, 40_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  for (const revokedOn of ['this process', 'the other process'] as const) {
    it(`a token revoked on ${revokedOn} is refused by both within 100 ms`, async () => {
      const created = await stack.admin.post('/v1/tokens', { name: `reader-${revokedOn}`, scopes: ['runs:read'] });
      expect(created.status).toBe(201);
      const { token: secret, id } = created.body as { token: string; id: string };
      const replicas = [stack.admin.withToken(secret), other.withToken(secret)];
      // Both have it cached as valid now.
      for (const r of replicas) for (let i = 0; i < 3; i++) expect((await r.get('/v1/nodes')).status).toBe(200);

      const revoker = revokedOn === 'this process' ? stack.admin : other.withToken(stack.adminToken);
      expect((await revoker.delete(`/v1/tokens/${id}`)).status).toBe(200);
      const revokedAt = performance.now();
      // When the first request that was refused was sent (a loaded machine's HTTP time is not the replica's delay).
      const refusedAfter = await Promise.all(
        replicas.map(async (r) => {
          for (let i = 0; i < 200; i++) {
            const sentAt = performance.now();
            if ((await r.get('/v1/nodes')).status === 401) return sentAt - revokedAt;
          }
          return Infinity;
        }),
      );
      for (const r of replicas) expect((await r.get('/v1/nodes')).status).toBe(401);
      expect(Math.max(...refusedAfter)).toBeLessThanOrEqual(100);
    });
  }
});
