// The OpenAPI 3.1 document, rendered from the operation table (operations.ts):
// request bodies and query parameters from the zod schemas that validate them,
// every reply from the zod schemas of src/api/schemas/, so the spec, the server
// and the client cannot drift. test/api/openapi.test.ts lints it with Redocly
// and checks it lists every route; test/api/responses.test.ts checks real
// replies against it.
import { z } from 'zod';
import { OPERATIONS, type Operation } from './operations.js';
import { responseSchemas } from './schemas/common.js';

const COMPONENTS = '#/components/schemas/';
const ref = (name: string) => ({ $ref: `${COMPONENTS}${name}` });
const toJson = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
  return rest;
};

/** Request bodies shared by name (the rest are inline). */
const REQUEST_NAMES = new Map<z.ZodType, string>([
  [OPERATIONS.startRun.body.schema, 'RunRequest'],
  [OPERATIONS.createSchedule.body.schema, 'ScheduleRequest'],
  [OPERATIONS.createToken.body.schema, 'TokenRequest'],
]);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input: error.details says what was wrong and what is allowed',
  401: 'missing, unknown, revoked or badly signed credentials',
  403: 'the token lacks the scope this route needs, or the report link was altered',
  404: 'no such run, runbook, schedule, token or artifact (or the receiver is not configured)',
  408: 'the body did not arrive in time',
  409: 'conflicts with the current state (e.g. the run has not ended yet)',
  410: 'the report link has expired: ask for a new one',
  413: 'the body is larger than allowed',
  415: 'wrong content type',
  422: 'understood but cannot be done (e.g. an alert rule maps to a run that does not plan)',
  429: 'too many runs waiting: Retry-After says when to try again',
  503: 'Redis is unreachable',
};

/** Every documented operation as `METHOD /path/{param}`, for the drift test. */
export const documentedOperations = (): string[] => Object.values(OPERATIONS).map((o) => `${o.method.toUpperCase()} ${o.path}`);

function queryParameters(query: z.ZodObject): unknown[] {
  const schema = toJson(query, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    ...(property.description ? { description: property.description } : {}),
    schema: property,
  }));
}

function replyContent(schema: Operation['ok']['schema']): Record<string, unknown> {
  if (!(schema instanceof z.ZodType)) {
    const body = schema.type === 'application/json' ? { type: 'object' } : { type: 'string', ...(schema.format ? { contentMediaType: schema.type } : {}) };
    return { [schema.type]: { schema: body } };
  }
  const name = responseSchemas.get(schema)?.id;
  return { 'application/json': { schema: name ? ref(name) : toJson(schema, 'output') } };
}

function operation(operationId: string, o: Operation): unknown {
  const pathParameters = [...o.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  const parameters = [...pathParameters, ...(o.query ? queryParameters(o.query) : [])];
  const responses: Record<string, unknown> = { [o.ok.status]: { description: o.ok.description, content: replyContent(o.ok.schema) } };
  for (const status of o.errors) responses[status] = { $ref: `#/components/responses/E${status}` };
  if (o.errors.length === 0 || o.errors.every((s) => s >= 500)) responses['4XX'] = { $ref: '#/components/responses/E400' };
  const bodyName = o.body && REQUEST_NAMES.get(o.body.schema);
  return {
    operationId,
    summary: o.summary,
    tags: [o.tag],
    security: o.auth === 'bearer' ? [{ bearer: [] }] : [],
    ...(parameters.length ? { parameters } : {}),
    ...(o.body
      ? {
          requestBody: {
            required: true,
            content: { [o.body.type ?? 'application/json']: { schema: bodyName ? ref(bodyName) : toJson(o.body.schema, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

function componentSchemas(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(responseSchemas, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12', uri: (id) => `${COMPONENTS}${id}` });
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
    out[name] = rest;
  }
  for (const [schema, name] of REQUEST_NAMES) out[name] = toJson(schema, 'input');
  return out;
}

let document: unknown;

export function openApiDocument(): unknown {
  if (document) return document;
  const operations = Object.entries(OPERATIONS) as Array<[string, Operation]>;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [id, o] of operations) (paths[o.path] ??= {})[o.method] = operation(id, o);
  const statuses = [...new Set(operations.flatMap(([, o]) => o.errors).concat(400))].sort();
  document = {
    openapi: '3.1.0',
    info: {
      title: 'Sherlock',
      version: '0.1.0',
      description: 'Incident-diagnosis runbooks: eBPF captures on the affected hosts.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: 'http://localhost:8080', description: 'an API process (sherlock api); replace with your deployment' }],
    tags: [...new Set(operations.map(([, o]) => o.tag))].map((name) => ({ name })),
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token (sherlock tokens); scopes read, write, admin' } },
      schemas: componentSchemas(),
      responses: Object.fromEntries(
        statuses.map((s) => [`E${s}`, { description: ERROR_DESCRIPTIONS[s] ?? 'error', content: { 'application/json': { schema: ref('Error') } } }]),
      ),
    },
    paths,
  };
  return document;
}
