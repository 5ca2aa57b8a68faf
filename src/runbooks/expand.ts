// A runbook request (POST /v1/runs with runbook + params) → what the plan
// holds: params checked and typed, the window within the runbook's limit, the
// target from the params the runbook names, each step's settings with params
// filled in and checked by its capture, the rules and thresholds for findings.
import type { Symptom } from '../analysis/types.js';
import { z } from 'zod';
import { Invalid, NotFound } from '../model/errors.js';
import { ruleSchema, type Rule } from '../model/rule.js';
import type { Thresholds } from '../model/findings.js';
import { captures } from '../captures/registry.js';
import { targetSchema, type TargetSpec } from '../model/target.js';
import type { RunStep } from '../model/run.js';
import { formatDuration } from '../util/duration.js';
import type { RunbookSource } from './catalog.js';
import { checkParam, validateParams, type ParamError } from './params.js';
import type { Runbook, TargetField } from './schema.js';
import { fillTemplates, findTemplates } from './templates.js';
import { paramsSchema } from '../captures/params-schema.js';

export interface RunbookRequest {
  runbook: string;
  params?: Record<string, unknown>;
  /** The window asked for, ms (already 1s or more). */
  duration?: number;
  target?: TargetSpec;
  /** Operator Falco rule files to add, by name. */
  falcoRules?: string[];
}

export interface ExpandedRunbook {
  runbook: string;
  runbookTitle: string;
  params: Record<string, unknown>;
  steps: RunStep[];
  durationMs: number;
  target: TargetSpec;
  thresholds?: Thresholds;
  rules?: Rule[];
  /** The runbook's BPF CPU budget per capture (percent of one CPU), if it sets one. */
  cpuBudgetPercent?: number;
  symptom: Symptom;
  falco?: { files?: string[]; requested?: string[] };
}

const WINDOW_PARAM = { type: 'duration', required: false, min: 1000 } as const;

export function unknownRunbook(name: string, source: RunbookSource | undefined): NotFound {
  const available = source?.names() ?? [];
  return new NotFound(
    'unknown_runbook',
    `unknown runbook "${name}"; runbooks: ${available.length ? available.join(', ') : 'none installed'} (or name captures in "steps" for an ad-hoc run)`,
    { available },
  );
}

export function expandRunbook(source: RunbookSource | undefined, request: RunbookRequest): ExpandedRunbook {
  const runbook = source?.get(request.runbook);
  if (!runbook) throw unknownRunbook(request.runbook, source);
  const { duration: windowParam, ...given } = request.params ?? {};

  // "duration" among the params is the window, as the top-level field.
  let durationMs = request.duration;
  const errors: ParamError[] = [];
  if (windowParam !== undefined) {
    const checked = checkParam({ ...WINDOW_PARAM, max: runbook.limits.maxDuration }, windowParam);
    if ('error' in checked) errors.push({ param: 'duration', message: `param duration (the run window): ${checked.error}` });
    else if (durationMs !== undefined && durationMs !== checked.value) {
      errors.push({
        param: 'duration',
        message: `duration is given twice (${formatDuration(durationMs)} and params.duration ${formatDuration(checked.value as number)}); give one`,
      });
    } else durationMs = checked.value as number;
  }
  const { values, errors: paramErrors } = validateParams(runbook, given);
  errors.push(...paramErrors);
  if (errors.length) throw new Invalid('invalid_params', `runbook ${runbook.name}: ${errors.map((e) => e.message).join('; ')}`, errors);

  durationMs ??= runbook.limits.defaultDuration;
  if (durationMs > runbook.limits.maxDuration) {
    throw new Invalid(
      'duration_over_limit',
      `duration ${formatDuration(durationMs)} exceeds the ${formatDuration(runbook.limits.maxDuration)} limit for this runbook (${runbook.name})`,
      { durationMs, maxDurationMs: runbook.limits.maxDuration },
    );
  }

  const target = targetOf(runbook, values, request.target ?? {});
  const steps = stepsOf(runbook, values);
  const rules = rulesOf(runbook, values);
  return {
    runbook: runbook.name,
    runbookTitle: runbook.title,
    params: values,
    steps,
    durationMs,
    target,
    ...(Object.keys(runbook.thresholds).length ? { thresholds: runbook.thresholds } : {}),
    ...(rules.length ? { rules } : {}),
    ...(runbook.limits.cpuBudget !== undefined ? { cpuBudgetPercent: runbook.limits.cpuBudget } : {}),
    symptom: runbook.symptom,
    ...(runbook.falcoRules.length || request.falcoRules?.length
      ? {
          falco: {
            ...(runbook.falcoRules.length ? { files: runbook.falcoRules } : {}),
            ...(request.falcoRules?.length ? { requested: request.falcoRules } : {}),
          },
        }
      : {}),
  };
}

function targetOf(runbook: Runbook, values: Record<string, unknown>, explicit: TargetSpec): TargetSpec {
  const fromParams: Record<string, unknown> = {};
  const paramOf: Record<string, string> = {};
  for (const [field, param] of Object.entries(runbook.target) as [TargetField, string | undefined][]) {
    if (!param || values[param] === undefined) continue;
    const value = values[param];
    fromParams[field] = field === 'pid' ? [value] : value;
    paramOf[field] = param;
  }
  const checked = targetSchema.safeParse(fromParams);
  if (!checked.success) {
    const errors = checked.error.issues.map((i) => {
      const param = paramOf[String(i.path[0])] ?? String(i.path[0]);
      return { param, message: `param ${param} (target.${String(i.path[0])}): ${i.message}` };
    });
    throw new Invalid('invalid_params', `runbook ${runbook.name}: ${errors.map((e) => e.message).join('; ')}`, errors);
  }
  const conflicts = Object.entries(explicit).filter(
    ([field, value]) => field in checked.data && JSON.stringify((checked.data as Record<string, unknown>)[field]) !== JSON.stringify(value),
  );
  if (conflicts.length) {
    const [field] = conflicts[0]!;
    throw new Invalid(
      'target_conflict',
      `target.${field} ${JSON.stringify((explicit as Record<string, unknown>)[field])} contradicts param ${paramOf[field]} (${JSON.stringify((checked.data as Record<string, unknown>)[field])}); give one of them`,
    );
  }
  const target = { ...checked.data, ...explicit };
  if (target.unit && target.cgroup) throw new Invalid('invalid_params', 'give a cgroup or a unit, not both: a unit is a cgroup');
  return target;
}

const paramsIn = (value: unknown) => [...new Set(findTemplates(value).refs.map((r) => r.name))];

function stepsOf(runbook: Runbook, values: Record<string, unknown>): RunStep[] {
  return runbook.steps.map((step, index) => {
    const def = captures.get(step.capture);
    if (!def) throw new Invalid('invalid_runbook', `runbook ${runbook.name}: steps[${index}] names capture ${step.capture}, which this server does not have`);
    const parsed = paramsSchema(def).safeParse(fillTemplates(step.params, values));
    if (!parsed.success) {
      const used = paramsIn(step.params);
      throw new Invalid(
        'invalid_params',
        `runbook ${runbook.name}: ${used.length ? `with ${used.map((p) => `${p}=${JSON.stringify(values[p])}`).join(', ')}, ` : ''}` +
          `steps[${index}] (${step.capture}) is invalid: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
        parsed.error.issues,
      );
    }
    const params = parsed.data as Record<string, unknown>;
    const cap = runbook.limits.maxEvents;
    if (cap !== undefined && typeof params.maxEvents === 'number' && params.maxEvents > cap) params.maxEvents = cap;
    return { capture: step.capture, params };
  });
}

function rulesOf(runbook: Runbook, values: Record<string, unknown>): Rule[] {
  return runbook.rules.map((rule, index) => {
    const parsed = ruleSchema.safeParse(fillTemplates(rule, values));
    if (!parsed.success) {
      const used = paramsIn(rule);
      throw new Invalid(
        'invalid_params',
        `runbook ${runbook.name}: ${used.length ? `with ${used.map((p) => `${p}=${JSON.stringify(values[p])}`).join(', ')}, ` : ''}` +
          `rules[${index}] is invalid: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
        parsed.error.issues,
      );
    }
    return parsed.data;
  });
}
