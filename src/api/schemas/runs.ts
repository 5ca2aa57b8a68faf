// What /v1/runs answers: a run record with its links, a page of runs, a
// cancel, findings and the baseline comparison (src/model/run.ts and friends).
import { z } from 'zod';
import { linksSchema, SYMPTOMS } from '../../model/findings.js';
import { ruleSchema } from '../../model/rule.js';
import { RUN_STATUSES } from '../../model/run.js';
import { targetSchema } from '../../model/target.js';
import { thresholdsSchema } from '../../runbooks/schema.js';
import { isoTime, jsonObject, named } from './common.js';

const NODE_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
const SEVERITIES = ['critical', 'warning', 'info'] as const;

export const RunLinks = z.object({ self: z.string(), events: z.string(), live: z.string(), findings: z.string() });

const CaptureSummary = named(
  'CaptureSummary',
  "one capture's outcome on one node: counts, drops, BPF CPU cost and its stored artifact",
  z.object({
    capture: z.string(),
    kind: z.string(),
    count: z.number().int().describe('events or rows in the stored result'),
    dropped: z.number().int(),
    bpfCpuNs: z.number(),
    durationMs: z.number(),
    cancelled: z.boolean(),
    stopped: z
      .object({ reason: z.literal('cpu-budget'), cpuPercent: z.number(), budgetPercent: z.number(), afterMs: z.number(), message: z.string() })
      .optional(),
    redactions: z.number().int().optional(),
    artifact: z.string().optional(),
    bytes: z.number().int().optional(),
    files: z.array(z.string()).optional(),
    error: z.string().optional(),
    skipped: z.boolean().optional(),
  }),
);

export const Finding = named(
  'Finding',
  'a cause with its severity, one sentence to act on, and the evidence',
  z.object({
    id: z.string(),
    severity: z.enum(SEVERITIES),
    title: z.string(),
    node: z.string(),
    capture: z.string(),
    evidence: jsonObject,
    file: z.string(),
    score: z.number(),
    impact: z.object({ value: z.number(), unit: z.enum(['s/s', 'hits']), basis: z.string(), bears: z.array(z.enum(SYMPTOMS)) }).optional(),
    cause: z.object({ key: z.string(), subject: z.string() }).optional(),
    links: linksSchema.optional(),
  }),
);

const FalcoSummary = named(
  'FalcoNodeSummary',
  "what a node's Falco rules did: rules loaded and not (with why), matches, alerts",
  z.object({
    files: z.array(z.string()),
    loaded: z.number().int(),
    notLoaded: z.array(z.object({ rule: z.string(), file: z.string(), state: z.enum(['loaded', 'disabled', 'error']), reason: z.string().optional() })),
    errors: z.array(z.string()),
    events: z.number().int(),
    matches: z.number().int(),
    alerts: z.number().int(),
    alertsDropped: z.number().int(),
    alertsFile: z.string().optional(),
    findings: z.array(Finding),
  }),
);

const NodeState = named(
  'NodeState',
  "a node's part of a run",
  z.object({
    status: z.enum(NODE_STATUSES),
    kernel: z.string().optional(),
    startedAt: isoTime.optional(),
    finishedAt: isoTime.optional(),
    error: z.string().optional(),
    captures: z.array(CaptureSummary).optional(),
    falco: FalcoSummary.optional(),
    sherlock: z
      .object({ cgroup: z.string().optional(), cpuMs: z.number(), cpuScope: z.enum(['cgroup', 'worker process']), wallMs: z.number(), bpfCpuMs: z.number() })
      .optional(),
    position: z.number().int().optional().describe('place in the node queue while queued (1: next)'),
  }),
);

const RunPlan = z.object({
  runbook: z.string().optional(),
  runbookTitle: z.string().optional(),
  params: jsonObject.optional(),
  thresholds: thresholdsSchema.optional(),
  rules: z.array(ruleSchema).optional(),
  symptom: z.enum(SYMPTOMS).optional(),
  falco: z.object({ files: z.array(z.string()).optional(), requested: z.array(z.string()).optional() }).optional(),
  steps: z.array(z.object({ capture: z.string(), params: jsonObject })),
  durationMs: z.number(),
  target: targetSchema,
  nodes: z.array(z.string()),
  reason: z.string().optional(),
  cpuBudgetPercent: z.number().optional(),
  origin: jsonObject.optional(),
});

const runFields = {
  id: z.uuid(),
  status: z.enum(RUN_STATUSES),
  createdAt: isoTime,
  startedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
  requestedBy: z.string(),
  plan: RunPlan,
  nodes: z.record(z.string(), NodeState),
};

export const RunRecordSchema = named('RunRecord', 'a run as stored: what was asked, where, how each node fared', z.object(runFields));
export const Run = named('Run', 'a run with its links', z.object({ ...runFields, links: RunLinks }));
export const RunPage = named(
  'RunPage',
  'a page of runs, newest first, and the link to the next page',
  z.object({ runs: z.array(RunRecordSchema), next: z.string().optional().describe('GET this for the next page') }),
);
export const RunAccepted = named(
  'RunAccepted',
  'the run was planned and queued',
  z.object({ id: z.uuid(), status: z.enum(RUN_STATUSES), nodes: z.array(z.string()), links: RunLinks }),
);
export const CancelAccepted = named(
  'CancelAccepted',
  'the nodes were asked to stop; captured data is kept',
  z.object({ id: z.uuid(), status: z.enum(RUN_STATUSES), cancelRequested: z.literal(true) }),
);

export const StopAccepted = named(
  'StopAccepted',
  'the nodes were asked to end their window now; the run completes with what they captured',
  z.object({ id: z.uuid(), status: z.enum(RUN_STATUSES), stopRequested: z.literal(true) }),
);

export const RunFindings = named(
  'RunFindings',
  "a finished run's findings, ranked, and how many of each severity",
  z.object({
    runId: z.uuid(),
    status: z.enum(RUN_STATUSES),
    runbook: z.string().optional(),
    counts: z.object({ critical: z.number().int(), warning: z.number().int(), info: z.number().int() }),
    findings: z.array(Finding),
  }),
);

export const BaselineComparison = named(
  'BaselineComparison',
  "this run's numbers beside each node's latest scheduled baseline",
  z.object({
    runId: z.uuid(),
    target: z.string(),
    rows: z.array(
      z.object({
        node: z.string(),
        metric: z.string(),
        capture: z.string(),
        unit: z.enum(['us', 'pct', 'rate', 'per_min']),
        baseline: z.string(),
        now: z.string(),
        change: z.string(),
        baselineValue: z.number().optional(),
        nowValue: z.number().optional(),
        baselineAt: isoTime,
        baselineRunId: z.string(),
        baselineRunbook: z.string(),
        regression: z.enum(SEVERITIES).optional(),
      }),
    ),
    missing: z.array(z.string()).optional().describe('nodes with no baseline yet'),
    note: z.string().optional(),
  }),
);
