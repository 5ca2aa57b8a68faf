// A capture's settings (its params) as plain data: what each one is, its bounds,
// default and meaning, in the capture's setup.ts. The paths that start a capture
// (`sherlock capture`, a worker's run) check them here by hand and load no schema
// library (zod is ~100 ms of a CLI start); the API, runbooks and planner check
// the very same rules as a zod schema made from them (params-schema.ts).

export interface IntegerSetting {
  kind: 'integer';
  min: number;
  max: number;
  default: number;
  description: string;
  /** Only multiples of this (bytes in whole KiB). */
  multipleOf?: number;
  /** Only powers of two (ring buffer sizes). */
  powerOfTwo?: boolean;
}
export interface BooleanSetting {
  kind: 'boolean';
  default: boolean;
  description: string;
}
export interface ChoiceSetting<V extends string = string> {
  kind: 'choice';
  values: readonly V[];
  default: V;
  description: string;
}
/** A string matching `pattern`; `rule` says what it may be. */
export interface PatternSetting {
  kind: 'pattern';
  pattern: RegExp;
  rule: string;
  default: string;
  description: string;
}
/** At least one item, as a list or a comma-separated string; `item` reads one (undefined: not allowed, `rule` says what is). */
export interface ListSetting<T> {
  kind: 'list';
  item(value: string | number): T | undefined;
  rule: string;
  /** When the list is empty. */
  emptyRule: string;
  default: () => T[];
  description: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each list reads its own item type
export type Setting = IntegerSetting | BooleanSetting | ChoiceSetting | PatternSetting | ListSetting<any>;
export type Settings = Record<string, Setting>;

/** The params a capture runs with: each setting's value. */
export type SettingsValues<S extends Settings> = {
  [K in keyof S]: S[K] extends IntegerSetting
    ? number
    : S[K] extends BooleanSetting
      ? boolean
      : S[K] extends ChoiceSetting<infer V>
        ? V
        : S[K] extends ListSetting<infer T>
          ? T[]
          : string;
};

export const integer = (
  min: number,
  max: number,
  fallback: number,
  description: string,
  extra: Pick<IntegerSetting, 'multipleOf' | 'powerOfTwo'> = {},
): IntegerSetting => ({
  kind: 'integer',
  min,
  max,
  default: fallback,
  description,
  ...extra,
});
export const boolean = (fallback: boolean, description: string): BooleanSetting => ({ kind: 'boolean', default: fallback, description });
export const choice = <V extends string>(values: readonly V[], fallback: V, description: string): ChoiceSetting<V> => ({
  kind: 'choice',
  values,
  default: fallback,
  description,
});
export const pattern = (regex: RegExp, rule: string, fallback: string, description: string): PatternSetting => ({
  kind: 'pattern',
  pattern: regex,
  rule,
  default: fallback,
  description,
});

/** Every setting at its default. */
export function settingsDefaults<S extends Settings>(settings: S): SettingsValues<S> {
  return Object.fromEntries(Object.entries(settings).map(([key, s]) => [key, typeof s.default === 'function' ? s.default() : s.default])) as SettingsValues<S>;
}

/** The integer's rule in words: "an integer from 1 to 256". */
export function integerRule(s: IntegerSetting): string {
  const what = s.powerOfTwo ? 'a power of two' : s.multipleOf ? `a multiple of ${s.multipleOf}` : 'an integer';
  return `${what} from ${s.min} to ${s.max}`;
}

/** One setting's value, or what is wrong with it. */
function checkOne(s: Setting, value: unknown): { value: unknown } | { problem: string } {
  const got = `got ${JSON.stringify(value)}`;
  switch (s.kind) {
    case 'integer': {
      const ok =
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= s.min &&
        value <= s.max &&
        (!s.multipleOf || value % s.multipleOf === 0) &&
        (!s.powerOfTwo || (value & (value - 1)) === 0);
      return ok ? { value } : { problem: `takes ${integerRule(s)}, ${got}` };
    }
    case 'boolean':
      return typeof value === 'boolean' ? { value } : { problem: `takes true or false, ${got}` };
    case 'choice':
      return s.values.includes(value as string) ? { value } : { problem: `takes one of ${s.values.join(', ')}, ${got}` };
    case 'pattern':
      return typeof value === 'string' && s.pattern.test(value) ? { value } : { problem: `${s.rule}, ${got}` };
    case 'list': {
      const items = typeof value === 'string' ? value.split(',').filter((x) => x.trim()) : value;
      if (!Array.isArray(items) || !items.every((x) => typeof x === 'string' || typeof x === 'number')) {
        return { problem: `takes a list or a comma-separated string, ${got}` };
      }
      if (!items.length) return { problem: s.emptyRule };
      const read = items.map((x) => s.item(x));
      const bad = items.filter((_, i) => read[i] === undefined);
      return bad.length ? { problem: bad.map((x) => `${JSON.stringify(x)} ${s.rule}`).join('; ') } : { value: read };
    }
  }
}

/**
 * `input` checked against `settings`, every setting left out at its default: the
 * params, or one line per problem naming the setting, what was given and what is allowed.
 */
export function checkSettings<S extends Settings>(settings: S, given: unknown): { params: SettingsValues<S> } | { problems: string[] } {
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    return { problems: [`settings are an object of name: value, got ${JSON.stringify(given)}`] };
  const input = given as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(input).filter((key) => !(key in settings));
  if (unknown.length) problems.push(`unknown setting ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${Object.keys(settings).join(', ')}`);
  const params: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    if (input[key] === undefined) {
      params[key] = typeof s.default === 'function' ? s.default() : s.default;
      continue;
    }
    const checked = checkOne(s, input[key]);
    if ('problem' in checked) problems.push(`${key}: ${checked.problem}`);
    else params[key] = checked.value;
  }
  return problems.length ? { problems } : { params: params as SettingsValues<S> };
}
