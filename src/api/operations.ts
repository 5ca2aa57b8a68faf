// Every operation the API serves, with the zod schemas of its request and of
// each reply. openapi.ts renders this table as the OpenAPI document and the
// client (src/client/) takes its paths and types from it, so the server's
// description, the spec and the CLI cannot drift apart.
import type { z } from 'zod';
import { scheduleInputSchema } from '../core/schedules.js';
import { runRequestSchema } from '../planner/run-request.js';
import { auditQuery, listQuery, newToken, reportLinkQuery } from './schemas/requests.js';
import { AuditPage, CreatedSchedule, CreatedToken, Schedule, ScheduleDeleted, ScheduleList, TokenList, TokenRecord } from './schemas/admin.js';
import { CaptureList, NodeList, RunbookDetail, RunbookList, RunbookReload } from './schemas/catalog.js';
import { BaselineComparison, CancelAccepted, StopAccepted, Run, RunAccepted, RunFindings, RunPage } from './schemas/runs.js';
import { alertmanagerSchema, genericSchema, pagerdutySchema } from '../triggers/hooks/payloads.js';
import { ChatReply, Health, HookOutcome, SlashCommandForm } from './schemas/system.js';

export type Auth = 'bearer' | 'none' | 'signed-link';

/** A reply that is not JSON: its media type and what it holds. */
export interface RawReply {
  type: string;
  format?: 'binary';
}

export interface Operation {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: { schema: z.ZodType; type?: string };
  query?: z.ZodObject;
  ok: { status: number; description: string; schema: z.ZodType | RawReply };
  errors: readonly number[];
}

const read = [401, 403] as const;
const gzip: RawReply = { type: 'application/gzip', format: 'binary' };

export const OPERATIONS = {
  startRun: {
    method: 'post',
    path: '/v1/runs',
    summary: 'Start a run',
    tag: 'runs',
    auth: 'bearer',
    body: { schema: runRequestSchema },
    ok: { status: 202, description: 'accepted: the run and its links', schema: RunAccepted },
    errors: [400, ...read, 404, 409, 413, 415, 422, 429, 503],
  },
  listRuns: {
    method: 'get',
    path: '/v1/runs',
    summary: 'List runs, newest first',
    tag: 'runs',
    auth: 'bearer',
    query: listQuery,
    ok: { status: 200, description: 'a page of runs and the next page link', schema: RunPage },
    errors: [400, ...read],
  },
  getRun: {
    method: 'get',
    path: '/v1/runs/{id}',
    summary: 'A run: status, per node progress, capture summaries',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'the run', schema: Run },
    errors: [...read, 404],
  },
  cancelRun: {
    method: 'delete',
    path: '/v1/runs/{id}',
    summary: 'Cancel a run; captured data is kept',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 202, description: 'cancelling', schema: CancelAccepted },
    errors: [...read, 404, 409],
  },
  followRun: {
    method: 'get',
    path: '/v1/runs/{id}/events',
    summary: 'Server-Sent Events of progress, closing when the run ends',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'event stream (event: progress | node | status | ..., data: JSON)', schema: { type: 'text/event-stream' } },
    errors: [...read, 404],
  },
  stopRun: {
    method: 'post',
    path: '/v1/runs/{id}/stop',
    summary: 'End the capture window now; every node keeps what it captured and the run completes with findings and a report',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 202, description: 'stopping', schema: StopAccepted },
    errors: [...read, 404, 409],
  },
  followRunLive: {
    method: 'get',
    path: '/v1/runs/{id}/live',
    summary: "Server-Sent Events of streaming captures' events as they arrive (redacted, capped per capture), closing when the run ends",
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'event stream (event: events, data: JSON with node, capture, events, notShown)', schema: { type: 'text/event-stream' } },
    errors: [...read, 404],
  },
  getFindings: {
    method: 'get',
    path: '/v1/runs/{id}/findings',
    summary: 'Ranked findings of a finished run',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'findings', schema: RunFindings },
    errors: [...read, 404],
  },
  getReportBundle: {
    method: 'get',
    path: '/v1/runs/{id}/report',
    summary: 'The report bundle sherlock-<id>.tar.gz, streamed',
    tag: 'reports',
    auth: 'bearer',
    ok: { status: 200, description: 'manifest, findings, summary.md, report.html, per-node files', schema: gzip },
    errors: [...read, 404, 409],
  },
  getReportPage: {
    method: 'get',
    path: '/v1/runs/{id}/report.html',
    summary: 'The self-contained HTML report',
    tag: 'reports',
    auth: 'bearer',
    ok: { status: 200, description: 'the page', schema: { type: 'text/html' } },
    errors: [...read, 404, 409],
  },
  openReportPageLink: {
    method: 'get',
    path: '/v1/links/{id}/report.html',
    summary: 'The HTML report through a signed, expiring link (as chat replies give them; no bearer header)',
    tag: 'reports',
    auth: 'signed-link',
    query: reportLinkQuery,
    ok: { status: 200, description: 'the page', schema: { type: 'text/html' } },
    errors: [403, 404, 409, 410],
  },
  openReportBundleLink: {
    method: 'get',
    path: '/v1/links/{id}/report',
    summary: 'The report bundle through a signed, expiring link',
    tag: 'reports',
    auth: 'signed-link',
    query: reportLinkQuery,
    ok: { status: 200, description: 'sherlock-<id>.tar.gz', schema: gzip },
    errors: [403, 404, 409, 410],
  },
  getArtifact: {
    method: 'get',
    path: '/v1/runs/{id}/nodes/{node}/artifacts/{name}',
    summary: 'A stored capture result (gzip)',
    tag: 'reports',
    auth: 'bearer',
    ok: { status: 200, description: 'the artifact', schema: gzip },
    errors: [400, ...read, 404],
  },
  getBaselineComparison: {
    method: 'get',
    path: '/v1/runs/{id}/baseline',
    summary: 'This run beside the latest scheduled baseline of each node',
    tag: 'runs',
    auth: 'bearer',
    ok: { status: 200, description: 'comparison rows', schema: BaselineComparison },
    errors: [...read, 404, 409],
  },
  listRunbooks: {
    method: 'get',
    path: '/v1/runbooks',
    summary: 'Runbooks, with titles and descriptions',
    tag: 'runbooks',
    auth: 'bearer',
    ok: { status: 200, description: 'runbooks', schema: RunbookList },
    errors: read,
  },
  reloadRunbooks: {
    method: 'post',
    path: '/v1/runbooks/reload',
    summary: 'Reload runbooks/*.yaml (admin); invalid files are reported, the rest keep working',
    tag: 'runbooks',
    auth: 'bearer',
    ok: { status: 200, description: 'loaded and failed files', schema: RunbookReload },
    errors: [...read, 409],
  },
  getRunbook: {
    method: 'get',
    path: '/v1/runbooks/{name}',
    summary: 'A runbook, its params as JSON Schema',
    tag: 'runbooks',
    auth: 'bearer',
    ok: { status: 200, description: 'the runbook', schema: RunbookDetail },
    errors: [...read, 404],
  },
  listNodes: {
    method: 'get',
    path: '/v1/nodes',
    summary: 'Live workers',
    tag: 'system',
    auth: 'bearer',
    ok: { status: 200, description: 'nodes', schema: NodeList },
    errors: read,
  },
  listCaptures: {
    method: 'get',
    path: '/v1/captures',
    summary: 'Captures and their parameters',
    tag: 'system',
    auth: 'bearer',
    ok: { status: 200, description: 'captures', schema: CaptureList },
    errors: read,
  },
  createToken: {
    method: 'post',
    path: '/v1/tokens',
    summary: 'Create a token (admin)',
    tag: 'admin',
    auth: 'bearer',
    body: { schema: newToken },
    ok: { status: 201, description: 'the token, shown once', schema: CreatedToken },
    errors: [400, ...read, 413, 415],
  },
  listTokens: {
    method: 'get',
    path: '/v1/tokens',
    summary: 'List tokens (admin)',
    tag: 'admin',
    auth: 'bearer',
    ok: { status: 200, description: 'tokens', schema: TokenList },
    errors: read,
  },
  revokeToken: {
    method: 'delete',
    path: '/v1/tokens/{id}',
    summary: 'Revoke a token (admin)',
    tag: 'admin',
    auth: 'bearer',
    ok: { status: 200, description: 'the revoked token', schema: TokenRecord },
    errors: [...read, 404],
  },
  listAudit: {
    method: 'get',
    path: '/v1/audit',
    summary: 'Audit log, newest first (admin)',
    tag: 'admin',
    auth: 'bearer',
    query: auditQuery,
    ok: { status: 200, description: 'entries', schema: AuditPage },
    errors: [400, ...read],
  },
  createSchedule: {
    method: 'post',
    path: '/v1/schedules',
    summary: 'Create a schedule (cron with time zone + run request)',
    tag: 'schedules',
    auth: 'bearer',
    body: { schema: scheduleInputSchema },
    ok: { status: 201, description: 'the schedule with its next fire time', schema: CreatedSchedule },
    errors: [400, ...read, 404, 409, 413, 415],
  },
  listSchedules: {
    method: 'get',
    path: '/v1/schedules',
    summary: 'Schedules with their next fire times',
    tag: 'schedules',
    auth: 'bearer',
    ok: { status: 200, description: 'schedules', schema: ScheduleList },
    errors: [...read, 404],
  },
  getSchedule: {
    method: 'get',
    path: '/v1/schedules/{name}',
    summary: 'A schedule with its next fire time',
    tag: 'schedules',
    auth: 'bearer',
    ok: { status: 200, description: 'the schedule', schema: Schedule },
    errors: [400, ...read, 404],
  },
  deleteSchedule: {
    method: 'delete',
    path: '/v1/schedules/{name}',
    summary: 'Delete a schedule; it stops firing',
    tag: 'schedules',
    auth: 'bearer',
    ok: { status: 200, description: 'deleted', schema: ScheduleDeleted },
    errors: [400, ...read, 404],
  },
  slackCommand: {
    method: 'post',
    path: '/v1/chatops/slack',
    summary: 'Slack/Mattermost slash command (signed form body; 404 when not configured)',
    tag: 'triggers',
    auth: 'none',
    body: { schema: SlashCommandForm, type: 'application/x-www-form-urlencoded' },
    ok: { status: 200, description: 'slash command reply', schema: ChatReply },
    errors: [400, 401, 404, 408, 413],
  },
  alertmanagerHook: {
    method: 'post',
    path: '/v1/hooks/alertmanager',
    summary: 'Alertmanager webhook v4 (bearer token)',
    tag: 'triggers',
    auth: 'bearer',
    body: { schema: alertmanagerSchema },
    ok: { status: 202, description: 'runs started, or matched: false', schema: HookOutcome },
    errors: [400, 401, 404, 408, 409, 413, 422, 503],
  },
  pagerdutyHook: {
    method: 'post',
    path: '/v1/hooks/pagerduty',
    summary: 'PagerDuty webhook v3 (X-PagerDuty-Signature)',
    tag: 'triggers',
    auth: 'none',
    body: { schema: pagerdutySchema },
    ok: { status: 202, description: 'runs started', schema: HookOutcome },
    errors: [400, 401, 404, 408, 409, 413, 422, 503],
  },
  genericHook: {
    method: 'post',
    path: '/v1/hooks/generic',
    summary: 'Generic incident hook (X-Sherlock-Secret)',
    tag: 'triggers',
    auth: 'none',
    body: { schema: genericSchema },
    ok: { status: 202, description: 'runs started', schema: HookOutcome },
    errors: [400, 401, 404, 408, 409, 413, 422, 503],
  },
  health: {
    method: 'get',
    path: '/healthz',
    summary: 'Redis reachable',
    tag: 'system',
    auth: 'none',
    ok: { status: 200, description: 'ok', schema: Health },
    errors: [503],
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format)',
    tag: 'system',
    auth: 'none',
    ok: { status: 200, description: 'metrics', schema: { type: 'text/plain' } },
    errors: [],
  },
  openApi: {
    method: 'get',
    path: '/v1/openapi.json',
    summary: 'This document',
    tag: 'system',
    auth: 'none',
    ok: { status: 200, description: 'OpenAPI 3.1', schema: { type: 'application/json' } },
    errors: [],
  },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;
