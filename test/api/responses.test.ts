// Real replies against the OpenAPI document: a real API, Redis and worker; every
// JSON operation called (successes and errors), each reply's status must be one
// the document lists for that operation and its body must validate against the
// schema the document gives (JSON Schema 2020-12, ajv). A field the server sends
// but the schema does not declare fails here (response objects are closed).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS, type OperationId } from '../../src/api/operations.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, startStack, type Reply, type Stack } from '../server/harness.js';

const skip = kernelSkipReason();
const NODE = 'spec-node';
const SLACK_SECRET = 'spec-signing-secret';
const GENERIC_SECRET = 'spec-generic-secret';

interface Doc {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }> }>>;
  components: { responses: Record<string, { content: Record<string, { schema: unknown }> }> };
}

const doc = openApiDocument() as Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ ...doc, $id: 'https://sherlock.invalid/openapi.json' });
const validators = new Map<string, ValidateFunction>();

/** The schema the document gives for `operationId` answering `status`, compiled once. */
function validatorFor(operationId: OperationId, status: number): ValidateFunction | undefined {
  const key = `${operationId} ${status}`;
  if (validators.has(key)) return validators.get(key);
  const op = OPERATIONS[operationId];
  const responses = doc.paths[op.path]![op.method]!.responses;
  let response = responses[String(status)] ?? (status >= 400 && status < 500 ? responses['4XX'] : undefined);
  if (!response) return undefined;
  if (response.$ref) response = doc.components.responses[response.$ref.split('/').pop()!]!;
  const schema = response.content?.['application/json']?.schema as { $ref?: string } | undefined;
  if (!schema) throw new Error(`${key} is documented without a JSON body`);
  const validate = ajv.compile(schema.$ref ? { $ref: `https://sherlock.invalid/openapi.json${schema.$ref}` } : schema);
  validators.set(key, validate);
  return validate;
}

const seen = new Set<string>();

/** Fails unless the reply's status is documented for the operation and its body matches the documented schema. */
function conforms(operationId: OperationId, reply: Reply, expected?: number): Reply {
  if (expected !== undefined) expect(reply.status, `${operationId}: ${reply.text.slice(0, 300)}`).toBe(expected);
  const validate = validatorFor(operationId, reply.status);
  expect(validate, `${operationId} answered ${reply.status}, which the document does not list: ${reply.text.slice(0, 300)}`).toBeDefined();
  expect(reply.headers.get('content-type') ?? '').toContain('application/json');
  const ok = validate!(reply.body);
  expect(ok ? [] : validate!.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`), `${operationId} ${reply.status}`).toEqual([]);
  seen.add(`${operationId} ${reply.status}`);
  return reply;
}

describe('real replies validate against the OpenAPI document', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack(skip ? [] : [NODE], { env: { SHERLOCK_SLACK_SIGNING_SECRET: SLACK_SECRET, SHERLOCK_GENERIC_HOOK_SECRET: GENERIC_SECRET } });
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  it('system, catalogue and admin routes', async () => {
    const { admin } = stack;
    const anon = admin.withToken(undefined);
    conforms('health', await anon.get('/healthz'), 200);
    conforms('listCaptures', await admin.get('/v1/captures'), 200);
    conforms('listCaptures', await anon.get('/v1/captures'), 401);
    conforms('listNodes', await admin.get('/v1/nodes'), 200);
    const runbooks = conforms('listRunbooks', await admin.get('/v1/runbooks'), 200);
    const first = (runbooks.body as { runbooks: Array<{ name: string }> }).runbooks[0]!.name;
    for (const { name } of (runbooks.body as { runbooks: Array<{ name: string }> }).runbooks) {
      conforms('getRunbook', await admin.get(`/v1/runbooks/${name}`), 200);
    }
    conforms('getRunbook', await admin.get('/v1/runbooks/no-such-runbook'), 404);
    expect(first).toBeTruthy();
    conforms('reloadRunbooks', await admin.post('/v1/runbooks/reload', undefined), 200);

    const created = conforms('createToken', await admin.post('/v1/tokens', { name: 'spec-reader', scopes: ['runs:read'] }), 201);
    const reader = admin.withToken((created.body as { token: string }).token);
    conforms('createToken', await admin.post('/v1/tokens', { name: '', scopes: ['nope'] }), 400);
    conforms('createToken', await reader.post('/v1/tokens', { name: 'x', scopes: ['admin'] }), 403);
    conforms('listTokens', await admin.get('/v1/tokens'), 200);
    conforms('revokeToken', await admin.delete(`/v1/tokens/${(created.body as { id: string }).id}`), 200);
    conforms('revokeToken', await admin.delete('/v1/tokens/no-such-token'), 404);
    conforms('listAudit', await admin.get('/v1/audit?limit=20'), 200);
    conforms('listAudit', await admin.get('/v1/audit?limit=0'), 400);

    const schedule = { name: 'spec-nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', runbook: 'health-check', targets: { nodes: [NODE] } };
    conforms('createSchedule', await admin.post('/v1/schedules', schedule), 201);
    conforms('createSchedule', await admin.post('/v1/schedules', schedule), 409);
    conforms('createSchedule', await admin.post('/v1/schedules', { ...schedule, name: 'spec-bad', cron: 'every day' }), 400);
    conforms('listSchedules', await admin.get('/v1/schedules'), 200);
    conforms('getSchedule', await admin.get('/v1/schedules/spec-nightly'), 200);
    conforms('deleteSchedule', await admin.delete('/v1/schedules/spec-nightly'), 200);
    conforms('getSchedule', await admin.get('/v1/schedules/spec-nightly'), 404);
  });

  it('trigger receivers', async () => {
    const anon = stack.admin.withToken(undefined);
    const body = new URLSearchParams({ command: '/sherlock', text: 'help', user_id: 'U1', user_name: 'alice', channel_id: 'C1' }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = { 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(SLACK_SECRET, ts, body) };
    conforms('slackCommand', await anon.call('POST', '/v1/chatops/slack', { rawBody: body, contentType: 'application/x-www-form-urlencoded', headers }), 200);
    conforms('slackCommand', await anon.call('POST', '/v1/chatops/slack', { rawBody: body, contentType: 'application/x-www-form-urlencoded' }), 401);
    const alert = { id: `spec-${Date.now()}`, status: 'firing', title: 'disk full', labels: { kind: 'nothing-maps-this' } };
    conforms('genericHook', await anon.post('/v1/hooks/generic', alert, { headers: { 'x-sherlock-secret': GENERIC_SECRET } }), 202);
    conforms('genericHook', await anon.post('/v1/hooks/generic', alert, { headers: { 'x-sherlock-secret': 'wrong' } }), 401);
    conforms('alertmanagerHook', await anon.post('/v1/hooks/alertmanager', { version: '4' }), 404);
    conforms('pagerdutyHook', await anon.post('/v1/hooks/pagerduty', {}), 404);
  });

  it('runs on a node that never takes its job: queued, listed, cancelled', async () => {
    const { admin } = stack;
    const beat = fakeNode(stack.conn, 'spec-idle');
    try {
      await beat.ready;
      const started = conforms(
        'startRun',
        await admin.post('/v1/runs', { steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['spec-idle'] } }),
        202,
      );
      const id = (started.body as { id: string }).id;
      const queued = conforms('getRun', await admin.get(`/v1/runs/${id}`), 200);
      expect((queued.body as { nodes: Record<string, { position?: number }> }).nodes['spec-idle']!.position).toBe(1);
      conforms('getFindings', await admin.get(`/v1/runs/${id}/findings`), 404);
      conforms('listRuns', await admin.get('/v1/runs?limit=1'), 200);
      conforms('listRuns', await admin.get('/v1/runs?limit=nine'), 400);
      conforms('cancelRun', await admin.delete(`/v1/runs/${id}`), 202);
      conforms('cancelRun', await admin.delete(`/v1/runs/${id}`), 409);
      // Stopped while still queued: the node is taken back and the run ends.
      const another = conforms(
        'startRun',
        await admin.post('/v1/runs', { steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['spec-idle'] } }),
        202,
      );
      const other = (another.body as { id: string }).id;
      conforms('stopRun', await admin.post(`/v1/runs/${other}/stop`, {}), 202);
      conforms('stopRun', await admin.post(`/v1/runs/${other}/stop`, {}), 409);
      conforms('getBaselineComparison', await admin.get(`/v1/runs/${id}/baseline`), 200);
      conforms('startRun', await admin.post('/v1/runs', { steps: [{ capture: 'no-such-capture' }], targets: { nodes: ['spec-idle'] } }), 400);
      conforms('startRun', await admin.post('/v1/runs', { steps: [{ capture: 'execsnoop' }], targets: { nodes: ['no-such-node'] } }));
      conforms('getRun', await admin.get('/v1/runs/00000000-0000-4000-8000-000000000000'), 404);
    } finally {
      beat.stop();
    }
  });

  it.skipIf(skip)(
    `a real run on a real worker: the run, its findings and baseline${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const { admin } = stack;
      const started = conforms('startRun', await admin.post('/v1/runs', { runbook: 'health-check', duration: '1s', targets: { nodes: [NODE] } }), 202);
      const id = (started.body as { id: string }).id;
      const run = await admin.waitFinal(id, 20_000);
      expect(run.status).toBe('completed');
      const final = conforms('getRun', await admin.get(`/v1/runs/${id}`), 200);
      // The check can fail: a field the document does not declare, or a wrong type, is refused.
      const validate = validatorFor('getRun', 200)!;
      expect(validate({ ...(final.body as object), surprise: 1 })).toBe(false);
      expect(validate({ ...(final.body as object), status: 'done' })).toBe(false);
      expect((final.body as { nodes: Record<string, { captures: unknown[] }> }).nodes[NODE]!.captures.length).toBeGreaterThan(0);
      conforms('getFindings', await admin.get(`/v1/runs/${id}/findings`), 200);
      conforms('getBaselineComparison', await admin.get(`/v1/runs/${id}/baseline`), 200);
      conforms('listRuns', await admin.get(`/v1/runs?node=${NODE}`), 200);
      conforms('listNodes', await admin.get('/v1/nodes'), 200);
    },
    40_000,
  );

  it('called every JSON operation at least once with its success status', () => {
    const json = (Object.entries(OPERATIONS) as Array<[OperationId, (typeof OPERATIONS)[OperationId]]>).filter(
      ([id, o]) => 'safeParse' in o.ok.schema && !['alertmanagerHook', 'pagerdutyHook'].includes(id),
    );
    const missing = json.filter(([id, o]) => !seen.has(`${id} ${o.ok.status}`)).map(([id]) => id);
    expect(missing).toEqual([]);
  });
});
