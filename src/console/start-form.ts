// The start form ↔ a run request: form fields become the body POST /v1/runs
// takes (so the core checks it with the same zod rules and runbook params),
// and the core's refusals become messages beside the fields they name.
import { DomainError } from '../core/errors.js';
import type { Runbook, TargetField } from '../runbooks/schema.js';

/** Target fields the form offers beside the runbook's params. */
export const TARGET_INPUTS = ['unit', 'comm', 'pid', 'port', 'container', 'pod'] as const satisfies readonly TargetField[];
const NUMERIC = new Set(['pid', 'port']);

type Form = Record<string, string | string[]>;
const text = (form: Form, name: string) => {
  const v = form[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
};
const number = (v: string) => (/^\d+$/.test(v) ? Number(v) : v);

export function runRequestFrom(runbook: Runbook, form: Form): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const name of Object.keys(runbook.params)) {
    const v = text(form, `p.${name}`);
    if (v !== '') params[name] = v;
  }
  const target: Record<string, unknown> = {};
  for (const field of TARGET_INPUTS) {
    const v = text(form, `target.${field}`);
    if (v === '') continue;
    target[field] =
      field === 'pid'
        ? v
            .split(/[\s,]+/)
            .filter(Boolean)
            .map(number)
        : NUMERIC.has(field)
          ? number(v)
          : v;
  }
  const where = text(form, 'where');
  const nodes = [form.nodes ?? []].flat().filter(Boolean);
  const labels = Object.fromEntries(
    text(form, 'labels')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((pair) => [pair.split('=')[0] ?? '', pair.split('=').slice(1).join('=')]),
  );
  const targets = where === 'nodes' ? { nodes } : where === 'labels' ? { labels } : { all: true as const };
  const duration = text(form, 'duration');
  const reason = text(form, 'reason');
  return {
    runbook: runbook.name,
    ...(Object.keys(params).length ? { params } : {}),
    ...(duration ? { duration } : {}),
    ...(Object.keys(target).length ? { target } : {}),
    targets,
    ...(reason ? { reason } : {}),
  };
}

/** The form field a refusal is about ("p.comm", "duration", "target.pid", "targets"), or "" for the whole form. */
function fieldOf(issue: { param?: unknown; path?: unknown }): string {
  if (typeof issue.param === 'string') return issue.param === 'duration' ? 'duration' : `p.${issue.param}`;
  const path = typeof issue.path === 'string' ? issue.path.split('.') : Array.isArray(issue.path) ? issue.path.map(String) : [];
  if (path[0] === 'params' && path[1]) return `p.${path[1]}`;
  if (path[0] === 'target' && path[1]) return `target.${path[1]}`;
  if (path[0] === 'targets' || path[0] === 'duration' || path[0] === 'reason') return path[0];
  return '';
}

/** Messages by form field from a domain error; "" holds what names no field. */
export function fieldErrors(err: DomainError): Map<string, string[]> {
  const errors = new Map<string, string[]>();
  const add = (field: string, message: string) => errors.set(field, [...(errors.get(field) ?? []), message]);
  const issues = Array.isArray(err.details) ? (err.details as { param?: unknown; path?: unknown; message?: unknown }[]) : [];
  if (err.code === 'duration_over_limit') add('duration', err.message);
  else if (err.code === 'target_conflict') add(`target.${/target\.(\w+)/.exec(err.message)?.[1] ?? ''}`, err.message);
  else if (!issues.length) add('', err.message);
  for (const issue of issues) add(fieldOf(issue), typeof issue.message === 'string' ? issue.message : err.message);
  return errors;
}
