// A run's params checked against its runbook's declarations: typed values
// (durations in ms) with defaults filled in, or errors that name the param
// and say what is allowed. Values may come as JSON types or as text (ChatOps,
// `sherlock run --param k=v`): "5432" is an int, "true" a bool.
import { formatDuration, parseDuration } from '../util/duration.js';
import { own } from '../util/own.js';
import type { ParamSpec, Runbook } from './schema.js';

export interface ParamError {
  param: string;
  message: string;
}

/** " 1..65535", " ≥ 1", " ≤ 5m", or nothing. */
function range(min: number | undefined, max: number | undefined, show: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return ` ${show(min)}..${show(max)}`;
  if (min !== undefined) return ` ≥ ${show(min)}`;
  if (max !== undefined) return ` ≤ ${show(max)}`;
  return '';
}

/** "an integer 1..65535", "one of a, b", "a duration 1s..5m (like 30s or 2m)". */
export function allowedText(spec: ParamSpec): string {
  switch (spec.type) {
    case 'string': {
      const parts = ['text'];
      if (spec.minLength !== undefined || spec.maxLength !== undefined) parts.push(`of ${spec.minLength ?? 0}..${spec.maxLength ?? '∞'} characters`);
      if (spec.pattern) parts.push(`matching ${spec.pattern}`);
      return parts.join(' ');
    }
    case 'int':
      return `an integer${range(spec.min, spec.max, String)}`;
    case 'duration':
      return `a duration${range(spec.min, spec.max, formatDuration)} (like 30s or 2m)`;
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'bool':
      return 'true or false';
  }
}

const show = (v: unknown) => (typeof v === 'string' ? `"${v.length > 60 ? `${v.slice(0, 57)}...` : v}"` : (JSON.stringify(v) ?? String(v)));

/** One value → its typed form, or what is wrong with it. */
export function checkParam(spec: ParamSpec, value: unknown): { value: unknown } | { error: string } {
  const bad = (why: string) => ({ error: `${why} (allowed: ${allowedText(spec)})` });
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string' && typeof value !== 'number') return bad(`${show(value)} is not text`);
      const text = String(value);
      if (spec.minLength !== undefined && text.length < spec.minLength) return bad(`${show(text)} is shorter than ${spec.minLength} characters`);
      if (spec.maxLength !== undefined && text.length > spec.maxLength) return bad(`${show(text)} is longer than ${spec.maxLength} characters`);
      if (spec.pattern && !new RegExp(spec.pattern).test(text)) return bad(`${show(text)} does not match ${spec.pattern}`);
      return { value: text };
    }
    case 'int': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) return bad(`${show(value)} is not an integer`);
      if (spec.min !== undefined && n < spec.min) return bad(`${n} is below the minimum ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) return bad(`${n} is above the maximum ${spec.max}`);
      return { value: n };
    }
    case 'duration': {
      const ms = typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : typeof value === 'string' ? parseDuration(value) : undefined;
      if (ms === undefined) return bad(`${show(value)} is not a duration`);
      if (spec.min !== undefined && ms < spec.min) return bad(`${formatDuration(ms)} is shorter than the minimum ${formatDuration(spec.min)}`);
      if (spec.max !== undefined && ms > spec.max) return bad(`${formatDuration(ms)} is longer than the maximum ${formatDuration(spec.max)}`);
      return { value: ms };
    }
    case 'enum': {
      if (typeof value !== 'string' || !spec.values.includes(value)) return bad(`${show(value)} is not allowed`);
      return { value };
    }
    case 'bool': {
      if (typeof value === 'boolean') return { value };
      if (value === 'true' || value === 'false') return { value: value === 'true' };
      return bad(`${show(value)} is not a boolean`);
    }
  }
}

/** Every param of the runbook: given, else its default; unknown and missing required params are errors. */
export function validateParams(
  runbook: Pick<Runbook, 'name' | 'params'>,
  given: Record<string, unknown> = {},
): { values: Record<string, unknown>; errors: ParamError[] } {
  const values: Record<string, unknown> = {};
  const errors: ParamError[] = [];
  const declared = Object.keys(runbook.params);
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(runbook.params, name)) {
      errors.push({ param: name, message: `unknown param ${name}; runbook ${runbook.name} takes ${declared.length ? declared.join(', ') : 'no params'}` });
    }
  }
  for (const [name, spec] of Object.entries(runbook.params)) {
    const value = own(given, name);
    if (value === undefined || value === null || value === '') {
      if (spec.default !== undefined) values[name] = spec.default;
      else if (spec.required)
        errors.push({ param: name, message: `param ${name} is required${spec.description ? ` (${spec.description})` : ''}; allowed: ${allowedText(spec)}` });
      continue;
    }
    const checked = checkParam(spec, value);
    if ('error' in checked) errors.push({ param: name, message: `param ${name}: ${checked.error}` });
    else values[name] = checked.value;
  }
  return { values, errors };
}

const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h)?$';

/** The params as JSON Schema (draft 2020-12), what GET /v1/runbooks/:name shows. */
export function paramsJsonSchema(runbook: Pick<Runbook, 'params'>): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(runbook.params)) {
    const base: Record<string, unknown> = { ...(spec.description ? { description: spec.description } : {}) };
    switch (spec.type) {
      case 'string':
        Object.assign(base, {
          type: 'string',
          ...(spec.minLength !== undefined ? { minLength: spec.minLength } : {}),
          ...(spec.maxLength !== undefined ? { maxLength: spec.maxLength } : {}),
          ...(spec.pattern ? { pattern: spec.pattern } : {}),
          ...(spec.default !== undefined ? { default: spec.default } : {}),
        });
        break;
      case 'int':
        Object.assign(base, {
          type: 'integer',
          ...(spec.min !== undefined ? { minimum: spec.min } : {}),
          ...(spec.max !== undefined ? { maximum: spec.max } : {}),
          ...(spec.default !== undefined ? { default: spec.default } : {}),
        });
        break;
      case 'duration':
        Object.assign(base, {
          anyOf: [
            { type: 'string', pattern: DURATION_PATTERN, description: 'like 500ms, 30s, 2m' },
            { type: 'integer', minimum: 0, description: 'milliseconds' },
          ],
          ...(spec.min !== undefined ? { 'x-minimum-ms': spec.min } : {}),
          ...(spec.max !== undefined ? { 'x-maximum-ms': spec.max } : {}),
          ...(spec.default !== undefined ? { default: formatDuration(spec.default) } : {}),
        });
        base.description = `${spec.description ? `${spec.description}; ` : ''}${allowedText(spec)}`;
        break;
      case 'enum':
        Object.assign(base, { type: 'string', enum: spec.values, ...(spec.default !== undefined ? { default: spec.default } : {}) });
        break;
      case 'bool':
        Object.assign(base, { type: 'boolean', ...(spec.default !== undefined ? { default: spec.default } : {}) });
        break;
    }
    properties[name] = base;
    if (spec.required) required.push(name);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}
