// A runbook file (runbooks/*.yaml) as zod sees it. What zod cannot see alone
// (templates naming declared params, capture settings valid for their
// capture, rules valid once params are filled in, the file's name) is checked
// by the loader (loader.ts) with the same field paths.
import { z } from 'zod';
import { THRESHOLD_NAMES } from '../analysis/common.js';
import { SYMPTOMS, type Thresholds } from '../model/findings.js';
import type { Rule } from '../analysis/rules.js';
import { captureNames } from '../captures/registry.js';
import { MAX_RUN_DURATION_MS, MAX_RUN_STEPS } from '../model/limits.js';
import { formatDuration, parseDuration } from '../util/duration.js';

export const PARAM_TYPES = ['string', 'int', 'duration', 'enum', 'bool'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

const PARAM_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;
export const paramNameSchema = z.string().regex(PARAM_NAME, 'param names are letters, digits and "_", starting with a letter');

/** "30s", "5m", "500ms", or milliseconds → milliseconds. */
export const durationText = z.union([z.number().int().min(0), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${String(value)}" is not a duration (write 500ms, 30s, 5m or 1h)` });
    return z.NEVER;
  }
  return ms;
});

const validRegex = (pattern: string) => {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
};

const common = {
  description: z.string().max(500).optional(),
  required: z.boolean().default(false),
};

const stringParam = z
  .object({
    type: z.literal('string'),
    ...common,
    default: z.string().optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(1).max(10_000).optional(),
    pattern: z.string().refine(validRegex, 'pattern is not a valid regular expression').optional(),
  })
  .strict();
const intParam = z
  .object({
    type: z.literal('int'),
    ...common,
    default: z.number().int().optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
  })
  .strict();
const durationParam = z
  .object({
    type: z.literal('duration'),
    ...common,
    default: durationText.optional(),
    min: durationText.optional(),
    max: durationText.optional(),
  })
  .strict();
const enumParam = z
  .object({
    type: z.literal('enum'),
    ...common,
    values: z.array(z.string().min(1)).min(1).max(100),
    default: z.string().optional(),
  })
  .strict();
const boolParam = z
  .object({
    type: z.literal('bool'),
    ...common,
    default: z.boolean().optional(),
  })
  .strict();

export const paramSchema = z
  .discriminatedUnion('type', [stringParam, intParam, durationParam, enumParam, boolParam], {
    error: (issue) => (issue.code === 'invalid_union' ? `type must be one of ${PARAM_TYPES.join(', ')}` : undefined),
  })
  .superRefine((p, ctx) => {
    const at = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (p.required && p.default !== undefined) at('required', 'a required param has no default (drop one of them)');
    if (p.type === 'int' || p.type === 'duration') {
      const show = (n: number) => (p.type === 'duration' ? formatDuration(n) : String(n));
      if (p.min !== undefined && p.max !== undefined && p.min > p.max) at('min', `min ${show(p.min)} is above max ${show(p.max)}`);
      if (p.default !== undefined && p.min !== undefined && p.default < p.min) at('default', `default ${show(p.default)} is below min ${show(p.min)}`);
      if (p.default !== undefined && p.max !== undefined && p.default > p.max) at('default', `default ${show(p.default)} is above max ${show(p.max)}`);
    }
    if (p.type === 'string' && p.default !== undefined) {
      if (p.minLength !== undefined && p.default.length < p.minLength) at('default', `default is shorter than minLength ${p.minLength}`);
      if (p.maxLength !== undefined && p.default.length > p.maxLength) at('default', `default is longer than maxLength ${p.maxLength}`);
      if (p.pattern && validRegex(p.pattern) && !new RegExp(p.pattern).test(p.default))
        at('default', `default "${p.default}" does not match pattern ${p.pattern}`);
    }
    if (p.type === 'enum' && p.default !== undefined && !p.values.includes(p.default)) {
      at('default', `default "${p.default}" is not one of ${p.values.join(', ')}`);
    }
  });

export type ParamSpec = z.output<typeof paramSchema>;

/** Target fields a param can select, and the param types each takes. */
export const TARGET_FIELDS = {
  unit: ['string', 'enum'],
  comm: ['string', 'enum'],
  cgroup: ['string', 'enum'],
  pid: ['int'],
  port: ['int'],
  uid: ['int'],
  container: ['string'],
  pod: ['string'],
} as const satisfies Record<string, readonly ParamType[]>;
export type TargetField = keyof typeof TARGET_FIELDS;

const stepSchema = z
  .object({
    capture: z
      .string()
      .refine((c) => captureNames().includes(c), { error: (issue) => `unknown capture "${String(issue.input)}"; captures: ${captureNames().join(', ')}` }),
    /** The capture's settings; strings may hold ${param} (see templates.ts). */
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const thresholdsSchema = z
  .object(Object.fromEntries(THRESHOLD_NAMES.map((n) => [n, z.number().min(0).optional()])) as Record<keyof Thresholds, z.ZodOptional<z.ZodNumber>>)
  .strict();

const limitsSchema = z
  .object({
    /** The window when the request names none. */
    defaultDuration: durationText.optional(),
    /** The longest window a request may ask for (at most the server's 10m). */
    maxDuration: durationText.optional(),
    /** Caps every streaming capture's maxEvents (execsnoop, opensnoop, tcplife). */
    maxEvents: z.number().int().min(1).max(1_000_000).optional(),
    /** Each capture's BPF CPU budget for this runbook, percent of one CPU (the operator's maximum caps it). */
    cpuBudget: z.number().gt(0).max(100).optional(),
  })
  .strict()
  .superRefine((l, ctx) => {
    const max = l.maxDuration ?? MAX_RUN_DURATION_MS;
    if (l.maxDuration !== undefined && (l.maxDuration < 1000 || l.maxDuration > MAX_RUN_DURATION_MS)) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxDuration'],
        message: `maxDuration ${formatDuration(l.maxDuration)} is outside 1s..${formatDuration(MAX_RUN_DURATION_MS)}`,
      });
    }
    if (l.defaultDuration !== undefined && (l.defaultDuration < 1000 || l.defaultDuration > max)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultDuration'],
        message: `defaultDuration ${formatDuration(l.defaultDuration)} is outside 1s..${formatDuration(max)} (maxDuration)`,
      });
    }
  });

export const runbookSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'runbook names are lowercase letters, digits and "-"'),
    title: z.string().min(1).max(120),
    description: z.string().min(1).max(2000),
    params: z
      .record(paramNameSchema, paramSchema)
      .default({})
      .superRefine((params, ctx) => {
        if ('duration' in params) {
          ctx.addIssue({
            code: 'custom',
            path: ['duration'],
            message: 'duration is the run window, not a param: set limits.defaultDuration and limits.maxDuration',
          });
        }
      }),
    /** Target field → the param that selects it, e.g. { unit: service, pid: pid }. */
    target: z
      .object(
        Object.fromEntries(Object.keys(TARGET_FIELDS).map((f) => [f, paramNameSchema.optional()])) as Record<
          TargetField,
          z.ZodOptional<typeof paramNameSchema>
        >,
      )
      .strict()
      .default({}),
    steps: z.array(stepSchema).min(1).max(MAX_RUN_STEPS),
    limits: limitsSchema.default({}),
    thresholds: thresholdsSchema.default({}),
    /** What the runbook is about: its findings are ranked by their impact on this. */
    symptom: z.enum(SYMPTOMS).default('health'),
    /** Rules for the findings (src/analysis/rules.ts), checked once params are filled in. */
    rules: z.array(z.unknown()).max(200).default([]),
    /** Falco rule files (paths under the runbooks directory), matched against the run's events on each worker. */
    falcoRules: z.array(z.string().min(1).max(255)).max(32).default([]),
  })
  .strict();

export type RunbookFile = z.output<typeof runbookSchema>;

/** A runbook that loaded: the file's content, checked, with where it came from. */
export interface Runbook extends Omit<RunbookFile, 'limits' | 'rules'> {
  limits: { defaultDuration: number; maxDuration: number; maxEvents?: number; cpuBudget?: number };
  /** As written (templates unfilled); each is a valid Rule once params are filled in. */
  rules: unknown[];
  /** The file it was loaded from. */
  file: string;
}

export type { Rule };
