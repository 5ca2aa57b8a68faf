// ${param} in a runbook's capture settings and rules. A string that is only a
// template takes the param's typed value (a number stays a number); one with
// text around it gets the value as text. Duration params are milliseconds,
// or converted with a unit: ${window:us}, ${window:s}. A template whose param
// has no value (optional, not given, no default) removes its setting, so the
// capture's own default applies.

import { own } from '../util/own.js';

const NAME = '[A-Za-z][A-Za-z0-9_]*';
const EXACT = new RegExp(`^\\$\\{(${NAME})(?::(ms|us|s))?\\}$`);
const ANY = new RegExp(`\\$\\{(${NAME})(?::(ms|us|s))?\\}`, 'g');
const OPENER = /\$\{/g;

export type DurationUnit = 'ms' | 'us' | 's';

export interface TemplateRef {
  name: string;
  unit?: DurationUnit;
  /** Where it was, as a field path below the walked value. */
  path: (string | number)[];
}

/** Every template in a value, and every "${" that is not a valid one. */
export function findTemplates(value: unknown, path: (string | number)[] = []): { refs: TemplateRef[]; malformed: (string | number)[][] } {
  const refs: TemplateRef[] = [];
  const malformed: (string | number)[][] = [];
  const walk = (v: unknown, at: (string | number)[]) => {
    if (typeof v === 'string') {
      let valid = 0;
      for (const m of v.matchAll(ANY)) {
        valid++;
        refs.push({ name: m[1]!, ...(m[2] ? { unit: m[2] as DurationUnit } : {}), path: at });
      }
      if ((v.match(OPENER)?.length ?? 0) > valid) malformed.push(at);
    } else if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...at, i]));
    else if (v && typeof v === 'object') for (const [k, item] of Object.entries(v)) walk(item, [...at, k]);
  };
  walk(value, path);
  return { refs, malformed };
}

const MISSING = Symbol('missing');

function convert(value: unknown, unit: DurationUnit | undefined): unknown {
  if (!unit || typeof value !== 'number') return value;
  return unit === 'us' ? value * 1000 : unit === 's' ? value / 1000 : value;
}

/** The value with templates filled from `params` (already typed); settings whose param has no value are left out. */
export function fillTemplates<T>(value: T, params: Record<string, unknown>): T {
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const exact = EXACT.exec(v);
      if (exact) {
        const p = own(params, exact[1]!);
        return p === undefined ? MISSING : convert(p, exact[2] as DurationUnit | undefined);
      }
      let missing = false;
      const text = v.replace(ANY, (_, name: string, unit?: string) => {
        const p = own(params, name);
        if (p === undefined) missing = true;
        return String(convert(p, unit as DurationUnit | undefined));
      });
      return missing ? MISSING : text;
    }
    if (Array.isArray(v)) return v.map(fill).filter((x) => x !== MISSING);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        const filled = fill(item);
        if (filled !== MISSING) out[k] = filled;
      }
      return out;
    }
    return v;
  };
  const result = fill(value);
  return (result === MISSING ? undefined : result) as T;
}
