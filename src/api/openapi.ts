// The OpenAPI 3.1 document. Request bodies and query parameters are generated
// from the same zod schemas that validate them, so the two cannot drift; every
// operation has an operationId (clients are generated from it), its security and
// the JSON error shape. test/api/openapi.test.ts lints it with Redocly and checks
// it lists every route the app serves.
import { z } from 'zod';
import { scheduleInputSchema } from '../core/schedules.js';
import { runRequestSchema } from '../planner/run-request.js';
import { auditQuery, newToken } from './routes/admin.js';
import { listQuery } from './routes/runs.js';

type Auth = 'bearer' | 'none';
interface Reply {
  status: number;
  description: string;
  type?: string;
  schema?: unknown;
}
interface Operation {
  method: 'get' | 'post' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: { schema: unknown; type?: string };
  query?: z.ZodObject;
  ok: Reply;
  errors: number[];
}

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const object = (description: string) => ({ type: 'object', description, additionalProperties: true });
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input: error.details says what was wrong and what is allowed',
  401: 'missing, unknown, revoked or badly signed credentials',
  403: 'the token lacks the scope this route needs',
  404: 'no such run, runbook, schedule, token or artifact (or the receiver is not configured)',
  408: 'the body did not arrive in time',
  409: 'conflicts with the current state',
  413: 'the body is larger than allowed',
  415: 'wrong content type',
  503: 'Redis is unreachable',
};

const read = [401, 403];
const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/runs',
    operationId: 'startRun',
    summary: 'Start a run',
    tag: 'runs',
    auth: 'bearer',
    body: { schema: ref('RunRequest') },
    ok: { status: 202, description: 'accepted: the run and its links', schema: ref('Run') },
    errors: [400, ...read, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/runs',
    operationId: 'listRuns',
    summary: 'List runs, newest first',
    tag: 'runs',
    auth: 'bearer',
    query: listQuery,
    ok: { status: 200, description: 'a page of runs and the next page link', schema: object('{ runs, next? }') },
    errors: [400, ...read],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}',
    operationId: 'getRun',
    summary: 'A run: status, per node progress, capture summaries',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'the run', schema: ref('Run') },
    errors: [...read, 404],
  },
  {
    method: 'delete',
    path: '/v1/runs/{id}',
    operationId: 'cancelRun',
    summary: 'Cancel a run; captured data is kept',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 202, description: 'cancelling', schema: ref('Run') },
    errors: [...read, 404, 409],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/events',
    operationId: 'followRun',
    summary: 'Server-Sent Events of progress, closing when the run ends',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'event stream', type: 'text/event-stream', schema: { type: 'string' } },
    errors: [...read, 404],
  },
  {
    method: 'post',
    path: '/v1/runs/{id}/stop',
    operationId: 'stopRun',
    summary: 'End the capture window now; every node keeps what it captured and the run completes with findings and a report',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 202, description: 'stopping', schema: object('{ id, status, stopRequested }') },
    errors: [...read, 404, 409],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/live',
    operationId: 'followRunLive',
    summary: "Server-Sent Events of streaming captures' events as they arrive (redacted, capped per capture), closing when the run ends",
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'event stream', type: 'text/event-stream', schema: { type: 'string' } },
    errors: [...read, 404],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/findings',
    operationId: 'getFindings',
    summary: 'Ranked findings of a finished run',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'findings', schema: object('{ findings: Finding[] }') },
    errors: [...read, 404, 409],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/report',
    operationId: 'getReportBundle',
    summary: 'The report bundle sherlock-<id>.tar.gz, streamed',
    tag: 'reports',
    auth: 'bearer',
    ok: {
      status: 200,
      description: 'manifest, findings, summary.md, report.html, per-node files',
      type: 'application/gzip',
      schema: { type: 'string', contentMediaType: 'application/gzip' },
    },
    errors: [...read, 404, 409],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/report.html',
    operationId: 'getReportPage',
    summary: 'The self-contained HTML report',
    tag: 'reports',
    auth: 'bearer',
    ok: { status: 200, description: 'the page', type: 'text/html', schema: { type: 'string' } },
    errors: [...read, 404, 409],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/nodes/{node}/artifacts/{name}',
    operationId: 'getArtifact',
    summary: 'A stored capture result (gzip)',
    tag: 'reports',
    auth: 'bearer',
    ok: { status: 200, description: 'the artifact', type: 'application/gzip', schema: { type: 'string', contentMediaType: 'application/gzip' } },
    errors: [400, ...read, 404],
  },
  {
    method: 'get',
    path: '/v1/runs/{id}/baseline',
    operationId: 'getBaselineComparison',
    summary: 'This run beside the latest scheduled baseline of each node',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'comparison rows', schema: object('{ nodes: comparison rows }') },
    errors: [...read, 404],
  },
  {
    method: 'get',
    path: '/v1/runbooks',
    operationId: 'listRunbooks',
    summary: 'Runbooks, with titles and descriptions',
    tag: 'runbooks',
    auth: 'bearer',
    ok: { status: 200, description: 'runbooks', schema: object('{ runbooks }') },
    errors: read,
  },
  {
    method: 'post',
    path: '/v1/runbooks/reload',
    operationId: 'reloadRunbooks',
    summary: 'Reload runbooks/*.yaml (admin); invalid files are reported, the rest keep working',
    tag: 'runbooks',
    auth: 'bearer',
    ok: { status: 200, description: 'loaded and failed files', schema: object('{ runbooks, errors }') },
    errors: [...read, 404],
  },
  {
    method: 'get',
    path: '/v1/runbooks/{name}',
    operationId: 'getRunbook',
    summary: 'A runbook, its params as JSON Schema',
    tag: 'runbooks',
    auth: 'bearer',
    ok: { status: 200, description: 'the runbook', schema: object('runbook with params JSON Schema') },
    errors: [...read, 404],
  },
  {
    method: 'get',
    path: '/v1/nodes',
    operationId: 'listNodes',
    summary: 'Live workers',
    tag: 'system',
    auth: 'bearer',
    ok: { status: 200, description: 'nodes', schema: object('{ nodes }') },
    errors: read,
  },
  {
    method: 'get',
    path: '/v1/captures',
    operationId: 'listCaptures',
    summary: 'Captures and their parameters',
    tag: 'system',
    auth: 'bearer',
    ok: { status: 200, description: 'captures', schema: object('{ captures }') },
    errors: read,
  },
  {
    method: 'post',
    path: '/v1/tokens',
    operationId: 'createToken',
    summary: 'Create a token (admin)',
    tag: 'admin',
    auth: 'bearer',
    body: { schema: ref('TokenRequest') },
    ok: { status: 201, description: 'the token, shown once', schema: object('{ id, name, scopes, token }') },
    errors: [400, ...read, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/tokens',
    operationId: 'listTokens',
    summary: 'List tokens (admin)',
    tag: 'admin',
    auth: 'bearer',
    ok: { status: 200, description: 'tokens', schema: object('{ tokens }') },
    errors: read,
  },
  {
    method: 'delete',
    path: '/v1/tokens/{id}',
    operationId: 'revokeToken',
    summary: 'Revoke a token (admin)',
    tag: 'admin',
    auth: 'bearer',
    ok: { status: 200, description: 'revoked', schema: object('the revoked token') },
    errors: [...read, 404],
  },
  {
    method: 'get',
    path: '/v1/audit',
    operationId: 'listAudit',
    summary: 'Audit log, newest first (admin)',
    tag: 'admin',
    auth: 'bearer',
    query: auditQuery,
    ok: { status: 200, description: 'entries', schema: object('{ entries, next? }') },
    errors: [400, ...read],
  },
  {
    method: 'post',
    path: '/v1/schedules',
    operationId: 'createSchedule',
    summary: 'Create a schedule (cron with time zone + run request)',
    tag: 'schedules',
    auth: 'bearer',
    body: { schema: ref('ScheduleRequest') },
    ok: { status: 201, description: 'the schedule with its next fire time', schema: object('schedule') },
    errors: [400, ...read, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/schedules',
    operationId: 'listSchedules',
    summary: 'Schedules with their next fire times',
    tag: 'schedules',
    auth: 'bearer',
    ok: { status: 200, description: 'schedules', schema: object('{ schedules }') },
    errors: read,
  },
  {
    method: 'get',
    path: '/v1/schedules/{name}',
    operationId: 'getSchedule',
    summary: 'A schedule with its next fire time',
    tag: 'schedules',
    auth: 'bearer',
    ok: { status: 200, description: 'the schedule', schema: object('schedule') },
    errors: [...read, 404],
  },
  {
    method: 'delete',
    path: '/v1/schedules/{name}',
    operationId: 'deleteSchedule',
    summary: 'Delete a schedule; it stops firing',
    tag: 'schedules',
    auth: 'bearer',
    ok: { status: 200, description: 'deleted', schema: object('{ deleted }') },
    errors: [...read, 404],
  },
  {
    method: 'post',
    path: '/v1/chatops/slack',
    operationId: 'slackCommand',
    summary: 'Slack/Mattermost slash command (signed form body; 404 when not configured)',
    tag: 'triggers',
    auth: 'none',
    body: { type: 'application/x-www-form-urlencoded', schema: { type: 'object', additionalProperties: { type: 'string' } } },
    ok: { status: 200, description: 'slash command reply', schema: object('Slack message') },
    errors: [400, 401, 404, 408, 413],
  },
  {
    method: 'post',
    path: '/v1/hooks/alertmanager',
    operationId: 'alertmanagerHook',
    summary: 'Alertmanager webhook v4 (bearer token)',
    tag: 'triggers',
    auth: 'bearer',
    body: { schema: object('Alertmanager webhook payload v4') },
    ok: { status: 202, description: 'runs started, or matched: false', schema: object('{ runs }') },
    errors: [400, 401, 404, 408, 413],
  },
  {
    method: 'post',
    path: '/v1/hooks/pagerduty',
    operationId: 'pagerdutyHook',
    summary: 'PagerDuty webhook v3 (X-PagerDuty-Signature)',
    tag: 'triggers',
    auth: 'none',
    body: { schema: object('PagerDuty webhook v3 payload') },
    ok: { status: 202, description: 'runs started', schema: object('{ runs }') },
    errors: [400, 401, 404, 408, 413],
  },
  {
    method: 'post',
    path: '/v1/hooks/generic',
    operationId: 'genericHook',
    summary: 'Generic incident hook (X-Sherlock-Secret)',
    tag: 'triggers',
    auth: 'none',
    body: { schema: object('incident payload') },
    ok: { status: 202, description: 'runs started', schema: object('{ runs }') },
    errors: [400, 401, 404, 408, 413],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    summary: 'Redis reachable',
    tag: 'system',
    auth: 'none',
    ok: { status: 200, description: 'ok', schema: object('{ status, redis }') },
    errors: [503],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics (text exposition format)',
    tag: 'system',
    auth: 'none',
    ok: { status: 200, description: 'metrics', type: 'text/plain', schema: { type: 'string' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'openApi',
    summary: 'This document',
    tag: 'system',
    auth: 'none',
    ok: { status: 200, description: 'OpenAPI 3.1', schema: object('OpenAPI document') },
    errors: [],
  },
];

/** Every documented operation as `METHOD /path/{param}`, for the drift test. */
export const documentedOperations = (): string[] => OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`);

function queryParameters(query: z.ZodObject): unknown[] {
  const schema = jsonSchema(query) as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    ...(property.description ? { description: property.description } : {}),
    schema: property,
  }));
}

function operation(o: Operation): unknown {
  const pathParameters = [...o.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  const parameters = [...pathParameters, ...(o.query ? queryParameters(o.query) : [])];
  const responses: Record<string, unknown> = {
    [o.ok.status]: { description: o.ok.description, content: { [o.ok.type ?? 'application/json']: { schema: o.ok.schema ?? {} } } },
  };
  for (const status of o.errors) responses[status] = { $ref: `#/components/responses/E${status}` };
  if (o.errors.length === 0 || o.errors.every((s) => s >= 500)) responses['4XX'] = { $ref: '#/components/responses/E400' };
  return {
    operationId: o.operationId,
    summary: o.summary,
    tags: [o.tag],
    security: o.auth === 'bearer' ? [{ bearer: [] }] : [],
    ...(parameters.length ? { parameters } : {}),
    ...(o.body ? { requestBody: { required: true, content: { [o.body.type ?? 'application/json']: { schema: o.body.schema } } } } : {}),
    responses,
  };
}

let document: unknown;

export function openApiDocument(): unknown {
  if (document) return document;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of OPERATIONS) (paths[o.path] ??= {})[o.method] = operation(o);
  const statuses = [...new Set(OPERATIONS.flatMap((o) => o.errors).concat(400))].sort();
  document = {
    openapi: '3.1.0',
    info: {
      title: 'Sherlock',
      version: '0.1.0',
      description: 'Incident-diagnosis runbooks: eBPF captures on the affected hosts.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: 'http://localhost:8080', description: 'an API process (sherlock api); replace with your deployment' }],
    tags: [...new Set(OPERATIONS.map((o) => o.tag))].map((name) => ({ name })),
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token (sherlock tokens); scopes read, write, admin' } },
      schemas: {
        RunRequest: jsonSchema(runRequestSchema),
        ScheduleRequest: jsonSchema(scheduleInputSchema),
        TokenRequest: jsonSchema(newToken),
        Run: object('a run record: id, status, runbook, nodes with progress and capture summaries, links'),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} } },
          },
        },
      },
      responses: Object.fromEntries(
        statuses.map((s) => [`E${s}`, { description: ERROR_DESCRIPTIONS[s] ?? 'error', content: { 'application/json': { schema: ref('Error') } } }]),
      ),
    },
    paths,
  };
  return document;
}
