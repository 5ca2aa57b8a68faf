// POST /v1/runs as zod sees it. Everything is bounded; unknown fields are errors.
import { z } from 'zod';
import { ownRecord } from '../util/own.js';
import { captureNames } from '../captures/registry.js';
import { MAX_RUN_DURATION_MS, MAX_RUN_STEPS } from '../model/limits.js';
import { targetSchema } from '../model/target.js';
import { NODE_NAME_RULE, isValidNodeName } from '../redis/keys.js';
import { formatDuration, parseDuration } from '../util/duration.js';

const MAX_NODES = 10_000;

const nodeName = z.string().refine(isValidNodeName, { message: `node names are ${NODE_NAME_RULE}` });

const outsideRange = (value: unknown) => `duration ${String(value)} is outside 1s..${MAX_RUN_DURATION_MS / 60_000}m (write 30s, 2m or milliseconds)`;

const PARSE_LIMIT_MS = 24 * 3_600_000;

// The upper bound is checked on the whole request: a runbook has a limit of its
// own (the planner says which), an ad-hoc run the server's.
const duration = z.union([z.number().int(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === undefined || ms < 1000 || ms > PARSE_LIMIT_MS) {
    ctx.addIssue({ code: 'custom', message: outsideRange(value) });
    return z.NEVER;
  }
  return ms;
});

export const runRequestSchema = z
  .object({
    runbook: z.string().min(1).max(100).optional(),
    steps: z
      .array(
        z
          .object({
            capture: z.string().refine((c) => captureNames().includes(c), { message: `capture must be one of: ${captureNames().join(', ')}` }),
            params: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_RUN_STEPS)
      .optional(),
    params: ownRecord(z.string().max(100), z.unknown()).optional(),
    duration: duration.optional(),
    /** No fixed window: capture until POST /v1/runs/:id/stop, at most the runbook's (or the server's) limit. */
    untilStopped: z.boolean().optional(),
    target: targetSchema.default({}),
    targets: z
      .object({
        nodes: z.array(nodeName).min(1).max(MAX_NODES).optional(),
        labels: ownRecord(z.string().min(1).max(63), z.string().max(63)).optional(),
        all: z.literal(true).optional(),
      })
      .strict()
      .refine((t) => t.nodes || t.labels || t.all, { message: 'targets needs nodes, labels or all: true' }),
    reason: z.string().max(500).optional(),
    /** Each capture's BPF CPU budget, percent of one CPU (up to the operator's load.maxCpuBudgetPercent). */
    cpuBudget: z.number().gt(0, 'cpuBudget is a percent of one CPU above 0').max(100, 'cpuBudget is a percent of one CPU, at most 100').optional(),
    /** Operator Falco rule files to add to the run, by name (file name without .yaml; SHERLOCK_FALCO_RULES on the workers). */
    falcoRules: z
      .array(z.string().regex(/^[\w.-]{1,100}$/, 'rule file names are letters, digits, ".", "_" and "-"'))
      .max(16)
      .optional(),
  })
  .strict()
  .refine((r) => r.runbook || r.steps, { message: 'a run needs a runbook or steps' })
  .superRefine((r, ctx) => {
    if (r.runbook && r.steps) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'give a runbook or steps, not both (steps are for ad-hoc runs)' });
    if (r.params && !r.runbook)
      ctx.addIssue({ code: 'custom', path: ['params'], message: "params go with a runbook; for ad-hoc steps, set each step's params" });
    if (r.untilStopped && r.duration !== undefined)
      ctx.addIssue({ code: 'custom', path: ['untilStopped'], message: 'give duration or untilStopped: true, not both' });
    if (!r.runbook && r.duration !== undefined && r.duration > MAX_RUN_DURATION_MS) {
      ctx.addIssue({ code: 'custom', path: ['duration'], message: outsideRange(formatDuration(r.duration)) });
    }
  });

export type RunRequest = z.infer<typeof runRequestSchema>;
