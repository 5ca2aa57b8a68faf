// Config problems as the lines a person reads: "where: field.path: what is
// wrong", and strict objects whose unknown keys say which keys are allowed.
import { z } from 'zod';
import { closestName } from '../util/closest-name.js';

/** A z.strictObject whose unknown-key error names the allowed keys (and the closest one). */
export function strictObject<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      const [first] = issue.keys;
      const near = first === undefined ? undefined : closestName(first, allowed);
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `unknown key ${keys}${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`;
    },
  });
}

export type FieldPath = readonly PropertyKey[];

/** "triggers.hooks.rules.2.runbook", or "" for the whole thing. */
export const fieldPath = (path: FieldPath) => path.map(String).join('.');

/** "where: field: message", or "where: message" when there is no field. */
export function problem(where: string, path: FieldPath, message: string): string {
  const field = fieldPath(path);
  return field ? `${where}: ${field}: ${message}` : `${where}: ${message}`;
}

/** A bad record key says why (zod's own text is only "Invalid key in record"). */
const messageOf = (issue: z.core.$ZodIssue): string =>
  issue.code === 'invalid_key' && issue.issues.length ? issue.issues.map((i) => i.message).join('; ') : issue.message;

/** One line per zod issue; `prefix` is where the validated value sits in its source. */
export function issueLines(where: string, error: z.ZodError, prefix: FieldPath = []): string[] {
  return error.issues.map((issue) => problem(where, [...prefix, ...issue.path], messageOf(issue)));
}
