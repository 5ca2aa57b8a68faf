// Tokens and scopes: 401 without a valid token (missing, unknown, revoked),
// 403 with a scope that does not allow the call, admin-only token management,
// and an audit log that names who did what.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/redis/keys.js';
import { connectRedis } from '../../src/redis/connection.js';
import { redisServerChildren } from '../helpers/redis.js';
import { Client, fakeNode, isJsonError, startStack, waitFor, type Stack } from './harness.js';

const NODE = 'auth-node';
const run = { steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: [NODE] } };

describe('API tokens, scopes and the audit log', () => {
  let stack: Stack;
  let beats: RedisClient;
  let node: ReturnType<typeof fakeNode>;

  beforeAll(async () => {
    stack = await startStack();
    beats = connectRedis(stack.redis.url, 'test-heartbeats');
    node = fakeNode(beats, NODE); // live, never consumed: runs stay queued
    await node.ready;
  });

  afterAll(async () => {
    node?.stop();
    beats?.disconnect();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  });

  /** A token made through the API by the admin. */
  async function createToken(name: string, scopes: string[]): Promise<{ id: string; token: string }> {
    const reply = await stack.admin.post('/v1/tokens', { name, scopes });
    expect(reply.status).toBe(201);
    return reply.body;
  }

  it('answers 401 without a token, with a malformed header, and with an unknown token', async () => {
    const anonymous = stack.admin.withToken(undefined);
    for (const path of ['/v1/runs', '/v1/nodes', '/v1/captures', '/v1/tokens', '/v1/audit', `/v1/runs/${randomUUID()}`]) {
      const reply = await anonymous.get(path);
      expect(reply.status, path).toBe(401);
      expect(isJsonError(reply)).toBe(true);
      expect(reply.body.error.code).toBe('unauthorized');
      expect(reply.body.error.message).toContain('Authorization: Bearer');
    }
    expect((await anonymous.post('/v1/runs', run)).status).toBe(401);
    expect((await anonymous.get('/v1/nodes', { headers: { authorization: `Basic ${stack.adminToken}` } })).status).toBe(401);
    const unknown = await stack.admin.withToken(`shk_${randomUUID()}`).get('/v1/nodes');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toContain('unknown or revoked');
    // The public endpoints need none.
    expect((await anonymous.get('/healthz')).status).toBe(200);
    expect((await anonymous.get('/v1/openapi.json')).status).toBe(200);
  });

  it('stores only hashes of the secrets', async () => {
    const { token } = await createToken('hash-check', ['runs:read']);
    const stored = await stack.conn.hgetall(keys.tokens);
    expect(Object.keys(stored).every((k) => /^[0-9a-f]{64}$/.test(k))).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(JSON.stringify(stored)).not.toContain(stack.adminToken);
  });

  it('lets runs:read read but not write, and keeps it out of admin routes', async () => {
    const { admin } = stack;
    const { token } = await createToken('reader', ['runs:read']);
    const reader = admin.withToken(token);
    const id = await admin.submit(run);

    expect((await reader.get('/v1/runs')).status).toBe(200);
    expect((await reader.get(`/v1/runs/${id}`)).status).toBe(200);
    expect((await reader.get('/v1/nodes')).status).toBe(200);
    expect((await reader.get('/v1/captures')).status).toBe(200);

    const write = await reader.post('/v1/runs', run);
    expect(write.status).toBe(403);
    expect(isJsonError(write)).toBe(true);
    expect(write.body.error.code).toBe('forbidden');
    expect(write.body.error.message).toContain('runs:write');
    expect((await reader.delete(`/v1/runs/${id}`)).status).toBe(403);

    for (const [method, path] of [
      ['GET', '/v1/audit'],
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens'],
      ['DELETE', `/v1/tokens/${randomUUID()}`],
    ] as const) {
      const reply = await reader.call(method, path, method === 'POST' ? { body: { name: 'x', scopes: ['admin'] } } : {});
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.body.error.message).toContain('admin');
    }
    // Still queued: the reader's attempts changed nothing.
    expect((await admin.run(id)).status).toBe('queued');
  });

  it('lets runs:write submit and cancel, but not manage tokens', async () => {
    const { token } = await createToken('writer', ['runs:write']);
    const writer = stack.admin.withToken(token);
    const id = await writer.submit(run);
    expect((await writer.run(id)).requestedBy).toBe('writer');
    expect((await writer.delete(`/v1/runs/${id}`)).status).toBe(202);
    expect((await writer.run(id)).status).toBe('cancelled');
    expect((await writer.get('/v1/tokens')).status).toBe(403);
  });

  it('lets admin create, list and revoke tokens; a revoked token gets 401', async () => {
    const { admin } = stack;
    const created = await admin.post('/v1/tokens', { name: 'short-lived', scopes: ['runs:read', 'runs:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'short-lived', scopes: ['runs:read'], createdBy: 'test-admin' });
    expect(created.body.token).toMatch(/^shk_/);
    const { id, token } = created.body as { id: string; token: string };
    const holder = admin.withToken(token);
    expect((await holder.get('/v1/nodes')).status).toBe(200); // now cached as valid

    const listed = await admin.get('/v1/tokens');
    expect(listed.status).toBe(200);
    const entry = listed.body.tokens.find((t: { id: string }) => t.id === id);
    expect(entry).toMatchObject({ name: 'short-lived', scopes: ['runs:read'] });
    expect(entry.revokedAt).toBeUndefined();
    expect(JSON.stringify(listed.body)).not.toContain(token); // secrets are shown once

    const revoked = await admin.delete(`/v1/tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    // Verification is cached for up to 2 s per API replica.
    await waitFor('the revoked token refused', async () => (await holder.get('/v1/nodes')).status === 401, { timeoutMs: 4_000, intervalMs: 100 });
    const refused = await holder.get('/v1/runs');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain('revoked');
    expect((await admin.get('/v1/tokens')).body.tokens.find((t: { id: string }) => t.id === id).revokedAt).toEqual(expect.any(String));

    expect((await admin.delete(`/v1/tokens/${randomUUID()}`)).status).toBe(404);
    const bad = await admin.post('/v1/tokens', { name: 'x', scopes: ['root'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('scopes');
    const extra = await admin.post('/v1/tokens', { name: 'x', scopes: ['admin'], expires: 1 });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain('expires');
  });

  it('records runs, cancels, downloads and token changes in the audit log, with the actor', async () => {
    const { admin, conn } = stack;
    const { id: tokenId, token } = await createToken('auditor-subject', ['runs:write']);
    const actor = admin.withToken(token);
    const runId = await actor.submit(run);
    expect((await actor.delete(`/v1/runs/${runId}`)).status).toBe(202);
    // An artifact download is audited: store one for the (cancelled) run as a worker would.
    const { putArtifact } = await import('../../src/redis/artifacts.js');
    await putArtifact(conn, { runId, node: NODE, name: 'execsnoop.json', contentType: 'application/json', ttlSeconds: 60 }, JSON.stringify({ events: [] }));
    const artifact = await actor.artifact(runId, NODE, 'execsnoop.json');
    expect(artifact.status).toBe(200);
    expect(artifact.body).toEqual({ events: [] });
    expect((await admin.delete(`/v1/tokens/${tokenId}`)).status).toBe(200);

    const log = await admin.get('/v1/audit?limit=1000');
    expect(log.status).toBe(200);
    const entries = log.body.entries as { id: string; time: string; actor: string; action: string; subject: string; details?: any }[];
    const find = (action: string, subject: string) => entries.find((e) => e.action === action && e.subject === subject);
    expect(find('token.create', tokenId)).toMatchObject({ actor: 'test-admin', details: { name: 'auditor-subject', scopes: ['runs:write'] } });
    expect(find('run.create', runId)).toMatchObject({ actor: 'auditor-subject', details: { nodes: [NODE], steps: ['execsnoop'] } });
    expect(find('run.cancel', runId)).toMatchObject({ actor: 'auditor-subject' });
    expect(find('artifact.download', runId)).toMatchObject({ actor: 'auditor-subject', details: { node: NODE, name: 'execsnoop.json' } });
    expect(find('token.revoke', tokenId)).toMatchObject({ actor: 'test-admin' });
    // Newest first, each with a time.
    const times = entries.map((e) => Date.parse(e.time));
    expect(times.every(Number.isFinite)).toBe(true);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(entries.indexOf(find('token.revoke', tokenId)!)).toBeLessThan(entries.indexOf(find('token.create', tokenId)!));

    const page = await admin.get('/v1/audit?limit=2');
    expect(page.body.entries).toHaveLength(2);
    const older = await admin.get(`/v1/audit?limit=2&before=${page.body.entries[1].id}`);
    expect(older.body.entries[0].id).toBe(entries[2]!.id);
    expect((await admin.get('/v1/audit?limit=0')).status).toBe(400);
  });

  it('verifies tokens against Redis, so a second API replica honours a revocation too', async () => {
    const { startApiServer } = await import('../../src/server/api-server.js');
    const replica = await startApiServer({ redisUrl: stack.redis.url, port: 0, host: '127.0.0.1', retentionSeconds: 60 });
    try {
      const { id, token } = await createToken('replica-user', ['runs:read']);
      const viaReplica = new Client(replica.url, token);
      expect((await viaReplica.get('/v1/nodes')).status).toBe(200);
      expect((await stack.admin.delete(`/v1/tokens/${id}`)).status).toBe(200);
      const t0 = Date.now();
      await waitFor('the replica refusing the revoked token', async () => (await viaReplica.get('/v1/nodes')).status === 401, {
        timeoutMs: 5_000,
        intervalMs: 100,
      });
      expect(Date.now() - t0).toBeLessThan(3_000); // the 2 s verification cache, plus slack
    } finally {
      await replica.stop();
    }
  });
});
