// The OpenAPI 3.1 document, with request schemas generated from the same zod
// schemas that validate requests, so the two cannot drift.
import { z } from 'zod';
import { runRequestSchema } from '../planner/run-request.js';

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const error = { description: 'error', ...json({ $ref: '#/components/schemas/Error' }) };
const secured = [{ bearer: [] }];

let document: unknown;

export function openApiDocument(): unknown {
  document ??= {
    openapi: '3.1.0',
    info: { title: 'Sherlock', version: '0.1.0', description: 'Incident-diagnosis runbooks: eBPF captures on the affected hosts.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        RunRequest: z.toJSONSchema(runRequestSchema, { io: 'input', unrepresentable: 'any' }),
        Error: {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} }, required: ['code', 'message'] } },
        },
      },
    },
    paths: {
      '/v1/runs': {
        post: { summary: 'Start a run', security: secured, requestBody: json({ $ref: '#/components/schemas/RunRequest' }), responses: { 202: { description: 'accepted' }, 400: error, 401: error, 403: error, 404: error, 409: error, 413: error } },
        get: { summary: 'List runs, newest first', security: secured, responses: { 200: { description: 'runs' }, 400: error } },
      },
      '/v1/runs/{id}': {
        get: { summary: 'A run: status, per node progress, capture summaries', security: secured, responses: { 200: { description: 'run' }, 404: error } },
        delete: { summary: 'Cancel a run; captured data is kept', security: secured, responses: { 202: { description: 'cancelling' }, 404: error, 409: error } },
      },
      '/v1/runs/{id}/findings': { get: { summary: 'Ranked findings of a finished run', security: secured, responses: { 200: { description: 'findings' }, 404: error } } },
      '/v1/runs/{id}/report': { get: { summary: 'The report bundle sherlock-<id>.tar.gz (manifest, findings, summary.md, report.html, per-node files), streamed', security: secured, responses: { 200: { description: 'application/gzip' }, 404: error } } },
      '/v1/runs/{id}/report.html': { get: { summary: 'The self-contained HTML report', security: secured, responses: { 200: { description: 'text/html' }, 404: error } } },
      '/v1/runbooks': { get: { summary: 'Runbooks, with titles and descriptions', security: secured, responses: { 200: { description: 'runbooks' } } } },
      '/v1/runbooks/{name}': { get: { summary: 'A runbook, its params as JSON Schema', security: secured, responses: { 200: { description: 'runbook' }, 404: error } } },
      '/v1/runbooks/reload': { post: { summary: 'Reload runbooks/*.yaml (admin); invalid files are reported, the rest keep working', security: secured, responses: { 200: { description: 'loaded and failed files' }, 403: error } } },
      '/v1/runs/{id}/events': { get: { summary: 'Server-Sent Events of progress, closing when the run ends', security: secured, responses: { 200: { description: 'text/event-stream' } } } },
      '/v1/runs/{id}/nodes/{node}/artifacts/{name}': { get: { summary: 'A stored capture result (gzip)', security: secured, responses: { 200: { description: 'artifact' }, 404: error } } },
      '/v1/nodes': { get: { summary: 'Live workers', security: secured, responses: { 200: { description: 'nodes' } } } },
      '/v1/captures': { get: { summary: 'Captures and their parameters', security: secured, responses: { 200: { description: 'captures' } } } },
      '/v1/tokens': {
        post: { summary: 'Create a token (admin)', security: secured, responses: { 201: { description: 'token, shown once' }, 400: error, 403: error } },
        get: { summary: 'List tokens (admin)', security: secured, responses: { 200: { description: 'tokens' } } },
      },
      '/v1/tokens/{id}': { delete: { summary: 'Revoke a token (admin)', security: secured, responses: { 200: { description: 'revoked' }, 404: error } } },
      '/v1/audit': { get: { summary: 'Audit log, newest first (admin)', security: secured, responses: { 200: { description: 'entries' } } } },
      '/v1/schedules': {
        post: { summary: 'Create a schedule (cron with time zone + run request)', security: secured, responses: { 201: { description: 'schedule with next fire time' }, 400: error, 409: error } },
        get: { summary: 'Schedules with their next fire times', security: secured, responses: { 200: { description: 'schedules' } } },
      },
      '/v1/schedules/{name}': { delete: { summary: 'Delete a schedule; it stops firing', security: secured, responses: { 200: { description: 'deleted' }, 404: error } } },
      '/v1/runs/{id}/baseline': { get: { summary: 'This run beside the latest scheduled baseline of each node (its runbook, else health-check; same target), stored when the run ended', security: secured, responses: { 200: { description: 'comparison rows' }, 404: error } } },
      '/v1/chatops/slack': { post: { summary: 'Slack/Mattermost slash command (signed form body; 404 when not configured)', responses: { 200: { description: 'slash command reply' }, 401: error, 404: error } } },
      '/v1/hooks/alertmanager': { post: { summary: 'Alertmanager webhook v4 (bearer token)', responses: { 202: { description: 'runs started, or matched: false' }, 401: error, 404: error } } },
      '/v1/hooks/pagerduty': { post: { summary: 'PagerDuty webhook v3 (X-PagerDuty-Signature)', responses: { 202: { description: 'runs started' }, 401: error, 404: error } } },
      '/v1/hooks/generic': { post: { summary: 'Generic incident hook (X-Sherlock-Secret)', responses: { 202: { description: 'runs started' }, 401: error, 404: error } } },
      '/healthz': { get: { summary: 'Redis reachable', responses: { 200: { description: 'ok' }, 503: error } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text' } } } },
    },
  };
  return document;
}
