// Property-based fuzzing of every route, query parameter, header, chat command
// and webhook body (fast-check, fixed seed, bounded count): no response is a
// 5xx, nothing throws uncaught, and a real run started afterwards completes.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, startStack, type Stack } from './harness.js';

const SEED = 15_2026;
const RUNS = Number(process.env.SHERLOCK_FUZZ_RUNS ?? 400);
const SECRETS = { slack: 'fuzz-slack-signing', am: 'fuzz-am-token-123', pd: 'fuzz-pd-secret', generic: 'fuzz-generic' };
const skip = kernelSkipReason();

const PROTO = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
const word = fc.oneof(
  fc.constantFrom(
    ...PROTO,
    '..',
    '.',
    ':',
    'a:b',
    'abc',
    '%',
    '%00',
    'execsnoop.json',
    'fuzz-node',
    'high-cpu',
    '-1',
    '0',
    '1e309',
    'NaN',
    'null',
    '[]',
    '{}',
    '1733300000000-0',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ maxLength: 300 }),
);
const seg = word.map((w) => encodeURIComponent(w) || 'x');
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });

const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record(
    {
      runbook: fc.oneof(word, fc.constant('high-cpu')),
      params: fc.dictionary(word, fc.oneof(word, fc.integer(), fc.boolean()), { maxKeys: 4 }),
      steps: fc.array(fc.record({ capture: fc.oneof(word, fc.constant('execsnoop')), params: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['capture'] }), {
        maxLength: 3,
      }),
      duration: fc.oneof(word, fc.constant('1s')),
      target: fc.dictionary(fc.constantFrom('pid', 'comm', 'unit', 'cgroup', 'port', 'uid', 'container', 'pod', ...PROTO), fc.oneof(word, fc.integer())),
      targets: fc.record(
        { nodes: fc.array(word, { maxLength: 3 }), labels: fc.dictionary(word, word, { maxKeys: 3 }), all: fc.oneof(fc.constant(true), fc.jsonValue()) },
        { requiredKeys: [] },
      ),
      name: word,
      cron: fc.oneof(word, fc.constant('*/5 * * * *')),
      timezone: word,
      scopes: fc.array(fc.oneof(word, fc.constantFrom('admin', 'runs:read')), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
);
const rawBody = fc.oneof(
  jsonBody.map((v) => JSON.stringify(v)),
  word,
);

type Route = { method: string; path: (s: string[]) => string; query?: string[] };
const ROUTES: Route[] = [
  { method: 'GET', path: () => '/healthz' },
  { method: 'GET', path: () => '/metrics' },
  { method: 'GET', path: () => '/v1/openapi.json' },
  { method: 'GET', path: () => '/v1/captures' },
  { method: 'GET', path: () => '/v1/nodes' },
  { method: 'GET', path: () => '/v1/runs', query: ['limit', 'before', 'status', 'node', 'runbook'] },
  { method: 'POST', path: () => '/v1/runs' },
  { method: 'GET', path: ([a]) => `/v1/runs/${a}` },
  { method: 'DELETE', path: ([a]) => `/v1/runs/${a}` },
  { method: 'GET', path: ([a]) => `/v1/runs/${a}/findings` },
  { method: 'GET', path: ([a]) => `/v1/runs/${a}/baseline` },
  { method: 'GET', path: ([a]) => `/v1/runs/${a}/report` },
  { method: 'GET', path: ([a]) => `/v1/runs/${a}/report.html` },
  { method: 'GET', path: ([a, b, c]) => `/v1/runs/${a}/nodes/${b}/artifacts/${c}` },
  { method: 'GET', path: () => '/v1/runbooks' },
  { method: 'GET', path: ([a]) => `/v1/runbooks/${a}` },
  { method: 'POST', path: () => '/v1/tokens' },
  { method: 'GET', path: () => '/v1/tokens' },
  { method: 'DELETE', path: ([a]) => `/v1/tokens/${a}` },
  { method: 'GET', path: () => '/v1/audit', query: ['limit', 'before'] },
  { method: 'POST', path: () => '/v1/schedules' },
  { method: 'GET', path: () => '/v1/schedules' },
  { method: 'DELETE', path: ([a]) => `/v1/schedules/${a}` },
  { method: 'POST', path: () => '/v1/hooks/alertmanager' },
  { method: 'POST', path: () => '/v1/hooks/pagerduty' },
  { method: 'POST', path: () => '/v1/hooks/generic' },
  { method: 'POST', path: () => '/v1/chatops/slack' },
  { method: 'GET', path: ([a]) => `/${a}` },
];

const chatText = fc
  .array(
    fc.oneof(
      fc.constantFrom('run', 'status', 'cancel', 'help', 'runbooks', 'latency', 'cpu', 'disk', 'on', 'high-cpu', '2s', '10m', 'pid=1', 'comm=x', ...PROTO),
      word.map((w) => w.replace(/\s/g, '')),
      fc.tuple(word, word).map(([k, v]) => `${k}=${v}`),
    ),
    { maxLength: 8 },
  )
  .map((ws) => ws.join(' '));

describe.skipIf(Boolean(skip))(`fuzzing every route${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let fake: ReturnType<typeof fakeNode>;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    stack = await startStack([], {
      env: {
        SHERLOCK_SLACK_SIGNING_SECRET: SECRETS.slack,
        SHERLOCK_ALERTMANAGER_TOKEN: SECRETS.am,
        SHERLOCK_PAGERDUTY_WEBHOOK_SECRET: SECRETS.pd,
        SHERLOCK_GENERIC_HOOK_SECRET: SECRETS.generic,
        SHERLOCK_HOOKS_CONFIG: '',
      },
    });
    fake = fakeNode(stack.conn, 'fuzz-node');
    await fake.ready;
  }, 30_000);

  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    fake?.stop();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  it(`${RUNS} fuzzed requests (seed ${SEED}): no 5xx, nothing uncaught; a real run afterwards completes`, async () => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        // Each route with its own query parameters (and others), mostly authorized so the handlers run.
        fc.constantFrom(...ROUTES).chain((route) =>
          fc.tuple(
            fc.constant(route),
            fc
              .tuple(
                fc
                  .subarray(route.query ?? [])
                  .chain(
                    (names) =>
                      fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), fc.oneof(word, fc.constantFrom('5', '50', 'completed'))))) as fc.Arbitrary<
                        [string, string][]
                      >,
                  ),
                fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.oneof(fc.constantFrom(...PROTO), word), word) }),
              )
              .map(([known, extra]) => (extra ? [...known, extra] : known)),
          ),
        ),
        fc.array(seg, { minLength: 3, maxLength: 3 }),
        fc.constantFrom('admin', 'admin', 'admin', 'none', 'garbage', 'valid-hook'),
        fc.dictionary(
          fc.constantFrom(
            'content-type',
            'accept',
            'x-slack-signature',
            'x-slack-request-timestamp',
            'x-pagerduty-signature',
            'x-sherlock-secret',
            'x-forwarded-for',
            'if-none-match',
            'range',
          ),
          headerValue,
          { maxKeys: 3 },
        ),
        fc.oneof(
          rawBody,
          chatText.map((t) =>
            new URLSearchParams({ text: t, user_id: 'U1', user_name: 'fuzz', channel_id: 'C1', channel_name: 'ops', command: '/sherlock' }).toString(),
          ),
        ),
        async ([route, query], segs, auth, headers, body) => {
          const qs = new URLSearchParams(query.map(([k, v]) => [k, v] as [string, string])).toString();
          const path = route.path(segs) + (qs ? `?${qs}` : '');
          const h: Record<string, string> = { ...headers };
          const now = String(Math.floor(Date.now() / 1000));
          if (auth === 'admin') h.authorization = `Bearer ${stack.adminToken}`;
          if (auth === 'garbage') h.authorization = `Bearer ${segs[0]}`;
          if (auth === 'valid-hook') {
            // Past the signature, so the body's parsing and mapping are fuzzed too.
            h.authorization = `Bearer ${SECRETS.am}`;
            h['x-sherlock-secret'] = SECRETS.generic;
            h['x-pagerduty-signature'] = `v1=${createHmac('sha256', SECRETS.pd).update(body).digest('hex')}`;
            h['x-slack-request-timestamp'] = now;
            h['x-slack-signature'] = slackSignature(SECRETS.slack, now, body);
          }
          if (route.method === 'GET' || route.method === 'DELETE') {
            const res = await fetch(stack.api.url + path, { method: route.method, headers: h, signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer().catch(() => {});
            if (res.status >= 500) failures.push(`${route.method} ${path} → ${res.status}`);
            return res.status < 500;
          }
          const res = await fetch(stack.api.url + path, {
            method: route.method,
            headers: { 'content-type': 'application/json', ...h },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.text();
          if (res.status >= 500) failures.push(`${route.method} ${path} ${body.slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`);
          return res.status < 500;
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(failures).toEqual([]);
    expect(uncaught).toEqual([]);

    // Still usable: a real worker runs a real capture.
    await stack.startWorker('fuzz-real');
    const id = await stack.admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['fuzz-real'] } });
    expect((await stack.admin.waitFinal(id, 30_000)).status).toBe('completed');
  }, 240_000);
});
