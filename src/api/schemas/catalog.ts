// What the catalogue routes answer: runbooks, captures and live nodes.
import { z } from 'zod';
import { thresholdsSchema } from '../../runbooks/schema.js';
import { isoTime, jsonObject, named } from './common.js';

const LoadIssue = z.object({ field: z.string(), message: z.string() });
const RunbookLoadError = named(
  'RunbookLoadError',
  'a runbook file that did not load: the first problem and every issue found',
  z.object({ file: z.string(), field: z.string(), message: z.string(), issues: z.array(LoadIssue) }),
);

export const RunbookList = named(
  'RunbookList',
  'the runbooks this API process loaded, and the files that failed',
  z.object({
    runbooks: z.array(
      z.object({
        name: z.string(),
        title: z.string(),
        description: z.string(),
        params: z.array(z.string()),
        captures: z.array(z.string()),
        links: z.object({ self: z.string() }),
      }),
    ),
    errors: z.array(RunbookLoadError),
  }),
);

export const RunbookDetail = named(
  'Runbook',
  'a runbook: its params as JSON Schema, target, steps, limits and thresholds',
  z.object({
    name: z.string(),
    title: z.string(),
    description: z.string(),
    params: jsonObject.describe('JSON Schema of the params'),
    target: z.record(z.string(), z.string()).describe('target field → the param that selects it'),
    steps: z.array(z.looseObject({ capture: z.string() })),
    limits: z.object({
      defaultDuration: z.string(),
      maxDuration: z.string(),
      defaultDurationMs: z.number(),
      maxDurationMs: z.number(),
      maxEvents: z.number().optional(),
    }),
    thresholds: thresholdsSchema,
    rules: z.array(jsonObject).optional(),
  }),
);

export const RunbookReload = named(
  'RunbookReload',
  'the runbooks loaded now and the files that failed',
  z.object({ runbooks: z.array(z.string()), errors: z.array(RunbookLoadError), loadedAt: isoTime.optional() }),
);

export const CaptureList = named(
  'CaptureList',
  'every capture, its result kind and its params as JSON Schema',
  z.object({ captures: z.array(z.object({ name: z.string(), summary: z.string(), kind: z.string(), params: jsonObject })) }),
);

export const NodeInfo = named(
  'Node',
  'a worker as its last heartbeat described it',
  z.object({
    name: z.string(),
    labels: z.record(z.string(), z.string()),
    kernel: z.string(),
    btf: z.boolean(),
    captures: z.array(z.string()),
    busy: z.boolean(),
    currentRun: z.string().optional(),
    lastSeen: isoTime,
    version: z.string(),
    process: z
      .object({ cpuSeconds: z.number(), residentBytes: z.number(), heapUsedBytes: z.number(), startTime: z.number().describe('Unix seconds') })
      .optional()
      .describe('the worker process as it last reported itself'),
  }),
);
export const NodeList = named('NodeList', 'live workers', z.object({ nodes: z.array(NodeInfo) }));
