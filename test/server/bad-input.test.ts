// Bad requests, one table: every one gets a 4xx JSON error that names what is
// wrong (never a 500, never a stack trace), and none of them disturbs what is
// stored.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/connection.js';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, isJsonError, startStack, type CallOptions, type Reply, type Stack } from './harness.js';

const NODE = 'input-node';
const good = { steps: [{ capture: 'execsnoop' }], duration: '2s', targets: { nodes: [NODE] } };
const MiB = 1024 * 1024;

interface Case {
  name: string;
  method?: string;
  path?: string;
  options: CallOptions;
  status: number;
  code?: string;
  /** What the message must mention: the bad field, or what is allowed. */
  mentions: (string | RegExp)[];
}

const post = (body: unknown): CallOptions => ({ body });

const cases: Case[] = [
  { name: 'duration: true', options: post({ ...good, duration: true }), status: 400, code: 'invalid_request', mentions: ['duration'] },
  { name: "steps: 'x'", options: post({ ...good, steps: 'x' }), status: 400, code: 'invalid_request', mentions: ['steps', /array/] },
  { name: 'targets: []', options: post({ ...good, targets: [] }), status: 400, code: 'invalid_request', mentions: ['targets'] },
  { name: 'targets: {}', options: post({ ...good, targets: {} }), status: 400, code: 'invalid_request', mentions: ['targets', 'nodes, labels or all'] },
  { name: "duration '2h'", options: post({ ...good, duration: '2h' }), status: 400, code: 'invalid_request', mentions: ['duration', '1s..10m'] },
  { name: "duration '500ms'", options: post({ ...good, duration: '500ms' }), status: 400, mentions: ['duration'] },
  { name: "duration 'soon'", options: post({ ...good, duration: 'soon' }), status: 400, mentions: ['duration', 'soon'] },
  { name: 'duration 1.5 (ms must be whole)', options: post({ ...good, duration: 1.5 }), status: 400, mentions: ['duration'] },
  { name: 'unknown top-level field', options: post({ ...good, colour: 'red' }), status: 400, code: 'invalid_request', mentions: ['colour'] },
  { name: 'unknown field in a step', options: post({ ...good, steps: [{ capture: 'execsnoop', seconds: 3 }] }), status: 400, mentions: ['seconds'] },
  { name: 'unknown field in targets', options: post({ ...good, targets: { nodes: [NODE], hosts: ['x'] } }), status: 400, mentions: ['hosts'] },
  { name: "node 'Bad:Name'", options: post({ ...good, targets: { nodes: ['Bad:Name'] } }), status: 400, mentions: ['targets.nodes.0', 'lowercase'] },
  { name: "node '-x'", options: post({ ...good, targets: { nodes: ['-x'] } }), status: 400, mentions: ['targets.nodes.0', 'starting with a letter or digit'] },
  { name: 'node of 64 characters', options: post({ ...good, targets: { nodes: ['a'.repeat(64)] } }), status: 400, mentions: ['targets.nodes.0', '63'] },
  { name: 'empty node list', options: post({ ...good, targets: { nodes: [] } }), status: 400, mentions: ['targets.nodes'] },
  {
    name: 'unknown capture',
    options: post({ ...good, steps: [{ capture: 'keylogger' }] }),
    status: 400,
    code: 'invalid_request',
    mentions: ['steps.0.capture', 'execsnoop'],
  },
  { name: 'no steps and no runbook', options: post({ duration: '2s', targets: { nodes: [NODE] } }), status: 400, mentions: ['runbook or steps'] },
  { name: 'empty steps', options: post({ ...good, steps: [] }), status: 400, mentions: ['steps'] },
  {
    name: 'maxEvents: 0',
    options: post({ ...good, steps: [{ capture: 'execsnoop', params: { maxEvents: 0 } }] }),
    status: 400,
    code: 'invalid_params',
    mentions: ['maxEvents', 'steps[0]'],
  },
  {
    name: "maxEvents: 'many'",
    options: post({ ...good, steps: [{ capture: 'execsnoop', params: { maxEvents: 'many' } }] }),
    status: 400,
    code: 'invalid_params',
    mentions: ['maxEvents'],
  },
  {
    name: 'unknown capture param',
    options: post({ ...good, steps: [{ capture: 'execsnoop', params: { verbose: true } }] }),
    status: 400,
    code: 'invalid_params',
    mentions: ['verbose'],
  },
  { name: 'bad target', options: post({ ...good, target: { pid: [-1] } }), status: 400, mentions: ['target.pid'] },
  {
    name: 'missing targets',
    options: post({ steps: [{ capture: 'execsnoop' }], duration: '2s' }),
    status: 400,
    code: 'invalid_request',
    mentions: ['targets'],
  },
  { name: 'reason too long', options: post({ ...good, reason: 'x'.repeat(501) }), status: 400, mentions: ['reason'] },
  { name: 'body is null', options: { rawBody: 'null', contentType: 'application/json' }, status: 400, code: 'invalid_request', mentions: [/object/] },
  { name: 'body is an array', options: { rawBody: '[1,2]', contentType: 'application/json' }, status: 400, code: 'invalid_request', mentions: [/object/] },
  { name: 'non-JSON body', options: { rawBody: '{"steps": [', contentType: 'application/json' }, status: 400, code: 'invalid_json', mentions: ['JSON'] },
  { name: 'empty body', options: { rawBody: '', contentType: 'application/json' }, status: 400, code: 'invalid_json', mentions: ['JSON'] },
  {
    name: 'wrong content type',
    options: { rawBody: JSON.stringify(good), contentType: 'text/plain' },
    status: 415,
    code: 'unsupported_media_type',
    mentions: ['application/json'],
  },
  { name: 'no content type', options: { rawBody: JSON.stringify(good) }, status: 415, code: 'unsupported_media_type', mentions: ['application/json'] },
  {
    name: 'body over 1 MiB',
    options: { rawBody: JSON.stringify({ ...good, reason: 'x'.repeat(MiB) }), contentType: 'application/json' },
    status: 413,
    code: 'payload_too_large',
    mentions: ['1048576'],
  },
  {
    name: 'node not live',
    options: post({ ...good, targets: { nodes: [NODE, 'ghost-node'] } }),
    status: 409,
    code: 'node_not_live',
    mentions: ['ghost-node', `live nodes: ${NODE}`],
  },
  {
    name: 'no live node with the labels',
    options: post({ ...good, targets: { labels: { rack: 'r9' } } }),
    status: 409,
    code: 'no_live_node',
    mentions: [NODE],
  },
  {
    name: 'unknown runbook',
    options: post({ runbook: 'no-such-runbook', targets: { all: true } }),
    status: 404,
    code: 'unknown_runbook',
    mentions: ['no-such-runbook', 'steps'],
  },
  { name: 'unknown route', method: 'GET', path: '/v1/nope', options: {}, status: 404, code: 'not_found', mentions: ['/v1/nope', 'openapi'] },
  { name: 'unversioned route', method: 'POST', path: '/runs', options: post(good), status: 404, code: 'not_found', mentions: ['/runs'] },
  { name: 'GET /v1/runs/not-a-uuid', method: 'GET', path: '/v1/runs/not-a-uuid', options: {}, status: 404, code: 'run_not_found', mentions: ['not-a-uuid'] },
  {
    name: 'GET an unknown run',
    method: 'GET',
    path: '/v1/runs/00000000-0000-4000-8000-000000000000',
    options: {},
    status: 404,
    code: 'run_not_found',
    mentions: ['00000000-0000-4000-8000-000000000000'],
  },
  { name: 'events of a bad id', method: 'GET', path: '/v1/runs/../../etc/events', options: {}, status: 404, mentions: [] },
  { name: 'list limit=0', method: 'GET', path: '/v1/runs?limit=0', options: {}, status: 400, code: 'invalid_request', mentions: ['limit'] },
  { name: 'list limit=abc', method: 'GET', path: '/v1/runs?limit=abc', options: {}, status: 400, mentions: ['limit'] },
  { name: 'list limit=100000', method: 'GET', path: '/v1/runs?limit=100000', options: {}, status: 400, mentions: ['limit'] },
  { name: 'list before=yesterday', method: 'GET', path: '/v1/runs?before=yesterday', options: {}, status: 400, mentions: ['before'] },
  { name: 'list unknown filter', method: 'GET', path: '/v1/runs?owner=me', options: {}, status: 400, mentions: ['owner'] },
  { name: 'token with no scopes', method: 'POST', path: '/v1/tokens', options: post({ name: 'x', scopes: [] }), status: 400, mentions: ['scopes'] },
];

describe('bad input', () => {
  let stack: Stack;
  let beats: RedisClient;
  let node: ReturnType<typeof fakeNode>;
  let kept: string;

  beforeAll(async () => {
    stack = await startStack();
    beats = connectRedis(stack.redis.url, 'test-heartbeats');
    node = fakeNode(beats, NODE);
    await node.ready;
    kept = await stack.admin.submit({ ...good, reason: 'made before the bad requests' });
  });

  afterAll(async () => {
    node?.stop();
    beats?.disconnect();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  });

  it.each(cases)('$name → $status', async (c) => {
    const reply = await stack.admin.call(c.method ?? 'POST', c.path ?? '/v1/runs', c.options);
    expect(reply.status, reply.text.slice(0, 500)).toBe(c.status);
    expect(isJsonError(reply), reply.text.slice(0, 500)).toBe(true);
    const error = (reply as Reply<{ error: { code: string; message: string } }>).body.error;
    if (c.code) expect(error.code).toBe(c.code);
    for (const m of c.mentions) {
      if (typeof m === 'string') expect(error.message).toContain(m);
      else expect(error.message).toMatch(m);
    }
    expect(reply.text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack frames
  });

  it('names every bad field at once, with details per field', async () => {
    const reply = await stack.admin.post('/v1/runs', { duration: true, steps: 'x', targets: [], colour: 1 });
    expect(reply.status).toBe(400);
    const { message, details } = reply.body.error as { message: string; details: { path: string; message: string }[] };
    for (const field of ['duration', 'steps', 'targets', 'colour']) expect(message).toContain(field);
    expect(details.map((d) => d.path)).toEqual(expect.arrayContaining(['duration', 'steps', 'targets']));
  });

  it('answers 413 to a chunked body over 1 MiB (no content-length)', async () => {
    const url = new URL('/v1/runs', stack.api.url);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (body += d))
          .on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', (err) =>
        (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
      );
      const chunk = 'x'.repeat(64 * 1024);
      req.write(`{"reason":"`);
      for (let i = 0; i < 20; i++) req.write(chunk); // 1.25 MiB in chunks
      req.end('"}');
    });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body).error.code).toBe('payload_too_large');
  });

  it('keeps a keep-alive client working after replies sent before the body was read (401, 415, 413)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(new URL(path, stack.api.url), { method, agent, headers }, (res) => {
          res.resume().on('end', () => resolve(res.statusCode!));
        });
        req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
        req.on('error', reject);
        req.end(body);
      });
    const auth = { authorization: `Bearer ${stack.adminToken}` };
    const big = JSON.stringify({ ...good, reason: 'x'.repeat(900_000) });
    const early: [number, Record<string, string>, string][] = [
      [401, { 'content-type': 'application/json' }, big],
      [415, { ...auth, 'content-type': 'text/plain' }, big],
      [413, { ...auth, 'content-type': 'application/json' }, big + ' '.repeat(MiB)],
    ];
    try {
      for (const [status, headers, body] of early) {
        expect(await send('POST', '/v1/runs', headers, body)).toBe(status);
        // At once, on the same agent: none may fail with a reset socket.
        for (let i = 0; i < 5; i++) expect(await send('GET', '/v1/nodes', auth)).toBe(200);
      }
    } finally {
      agent.destroy();
    }
  });

  it('accepts a body just under 1 MiB (the limit is not off by much)', async () => {
    const reason = 'x'.repeat(400);
    const padding = ' '.repeat(MiB - 2_000);
    const reply = await stack.admin.call('POST', '/v1/runs', { rawBody: `${padding}${JSON.stringify({ ...good, reason })}`, contentType: 'application/json' });
    expect(reply.status, reply.text).toBe(202);
  });

  it('still has the run made before the bad requests, and only the good ones after it', async () => {
    const run = await stack.admin.run(kept);
    expect(run).toMatchObject({ id: kept, status: 'queued', nodes: { [NODE]: { status: 'queued', position: 1 } } });
    const list = await stack.admin.get('/v1/runs');
    expect(list.status).toBe(200);
    expect(list.body.runs).toHaveLength(2); // `kept` and the one just under the limit
    expect(list.body.runs.at(-1).id).toBe(kept);
    expect((await stack.admin.get('/healthz')).status).toBe(200);
    // Nothing answered 500 on the way.
    const metrics = (await stack.admin.get('/metrics')).text;
    expect(metrics).not.toMatch(/status="5\d\d"/);
  });

  it('answers a request for an unknown run id with a uuid path segment on every run route', async () => {
    const id = randomUUID();
    for (const [method, path] of [
      ['GET', `/v1/runs/${id}`],
      ['DELETE', `/v1/runs/${id}`],
      ['GET', `/v1/runs/${id}/events`],
      ['GET', `/v1/runs/${id}/nodes/${NODE}/artifacts/execsnoop.json`],
    ] as const) {
      const reply = await stack.admin.call(method, path);
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(isJsonError(reply)).toBe(true);
    }
  });
});
