// Falco's loading semantics over the items of several files, in order: a
// list, macro or rule defined again replaces the earlier one; `append: true`
// or `override:` (append/replace per key) changes an earlier one; a rule item
// with only `enabled` switches an earlier rule on or off. What is wrong is a
// Problem naming file, line and item; the rest still loads.
import type { Problem, RawItem } from './rule-file.js';

/** The engine version Sherlock's loader stands for (Falco's semantics up to it); a file requiring more is refused. */
export const ENGINE_VERSION = '0.57.0';

export const PRIORITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'debug'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface ExceptionDef {
  name: string;
  /** One field (values are single values) or a tuple of fields (values are tuples). */
  fields?: string | string[];
  comps?: string | string[];
  values: unknown[];
}

interface Located {
  file: string;
  line: number;
}

export interface ListDef extends Located {
  name: string;
  items: string[];
}

export interface MacroDef extends Located {
  name: string;
  condition: string;
}

export interface RuleDef extends Located {
  name: string;
  desc: string;
  condition: string;
  output: string;
  priority: Priority;
  enabled: boolean;
  tags: string[];
  source: string;
  exceptions: ExceptionDef[];
}

export interface RuleSet {
  lists: Map<string, ListDef>;
  macros: Map<string, MacroDef>;
  /** In order of first definition. */
  rules: Map<string, RuleDef>;
  errors: Problem[];
  warnings: Problem[];
}

const RULE_KEYS = [
  'rule',
  'desc',
  'condition',
  'output',
  'priority',
  'enabled',
  'tags',
  'source',
  'exceptions',
  'append',
  'override',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'capture',
  'capture_duration',
];
const APPENDABLE_RULE_KEYS = ['condition', 'output', 'desc', 'tags', 'exceptions'];
const REPLACEABLE_RULE_KEYS = [
  'condition',
  'output',
  'desc',
  'priority',
  'tags',
  'exceptions',
  'enabled',
  'source',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'capture',
  'capture_duration',
];

export function emptyRuleSet(): RuleSet {
  return { lists: new Map(), macros: new Map(), rules: new Map(), errors: [], warnings: [] };
}

/** "0.50.0" or 17 (old integer versions are 0.N.0) → comparable numbers. */
function versionParts(v: unknown): number[] | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return [0, v, 0];
  if (typeof v === 'string' && /^\d+(\.\d+){0,2}$/.test(v.trim())) {
    const parts = v.trim().split('.').map(Number);
    if (parts.length === 1) return [0, parts[0]!, 0];
    while (parts.length < 3) parts.push(0);
    return parts;
  }
  return undefined;
}

const compareVersions = (a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;

export function addItems(set: RuleSet, items: RawItem[]): void {
  for (const item of items) {
    const d = item.data;
    const at = (kind: string, name: unknown) => ({ file: item.file, line: item.line, item: `${kind} ${String(name)}` });
    if ('required_engine_version' in d) {
      const wanted = versionParts(d.required_engine_version);
      if (!wanted)
        set.errors.push({
          file: item.file,
          line: item.line,
          message: `required_engine_version ${JSON.stringify(d.required_engine_version)} is not a version (0.57.0, or an integer)`,
        });
      else if (compareVersions(wanted, versionParts(ENGINE_VERSION)!) > 0) {
        set.errors.push({
          file: item.file,
          line: item.line,
          message: `the file requires engine version ${String(d.required_engine_version)}; Sherlock reads Falco rules up to ${ENGINE_VERSION}`,
        });
      }
      continue;
    }
    if ('required_plugin_versions' in d) continue; // plugins are not Sherlock's sources; their rules say so one by one
    if ('list' in d) addList(set, d, item, at('list', d.list));
    else if ('macro' in d) addMacro(set, d, item, at('macro', d.macro));
    else if ('rule' in d) addRule(set, d, item, at('rule', d.rule));
    else
      set.warnings.push({
        file: item.file,
        line: item.line,
        message: `unknown item (keys ${Object.keys(d).join(', ')}); Falco items are rule, macro, list, required_engine_version`,
      });
  }
}

type Where = { file: string; line: number; item: string };

/** How the item changes an earlier one: undefined = defines it anew; else per key append or replace. */
function changeMode(d: Record<string, unknown>, where: Where, set: RuleSet, keys: string[]): Map<string, 'append' | 'replace'> | undefined | 'error' {
  const fail = (message: string) => (set.errors.push({ ...where, message }), 'error' as const);
  if (d.append !== undefined && typeof d.append !== 'boolean') return fail('append must be true or false');
  if (d.override !== undefined) {
    if (d.append === true) return fail('append and override cannot be used together');
    if (typeof d.override !== 'object' || d.override === null || Array.isArray(d.override)) return fail('override is a mapping of key: append | replace');
    const modes = new Map<string, 'append' | 'replace'>();
    for (const [key, mode] of Object.entries(d.override)) {
      if (mode !== 'append' && mode !== 'replace') return fail(`override.${key} must be append or replace, not ${JSON.stringify(mode)}`);
      if (!keys.includes(key)) return fail(`override.${key}: ${key} cannot be overridden here (${keys.join(', ')})`);
      if (!(key in d)) return fail(`override names ${key} but the item has no ${key}`);
      modes.set(key, mode);
    }
    for (const key of Object.keys(d)) {
      if (!['rule', 'macro', 'list', 'override'].includes(key) && !modes.has(key))
        return fail(`${key} is given without an override for it (override: { ${key}: append | replace })`);
    }
    return modes;
  }
  if (d.append === true) return new Map(keys.filter((k) => k in d).map((k) => [k, 'append' as const]));
  return undefined;
}

function stringList(v: unknown): string[] | undefined {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) return undefined;
  return v.map((x) => (typeof x === 'string' ? x : String(x)));
}

function addList(set: RuleSet, d: Record<string, unknown>, item: RawItem, where: Where): void {
  if (typeof d.list !== 'string' || !d.list) return void set.errors.push({ ...where, message: 'list needs a name' });
  const items = stringList(d.items);
  if (!items) return void set.errors.push({ ...where, message: 'items must be a YAML list' });
  const mode = changeMode(d, where, set, ['items']);
  if (mode === 'error') return;
  const existing = set.lists.get(d.list);
  if (mode) {
    if (!existing) return void set.errors.push({ ...where, message: `list has append or override but no list "${d.list}" was defined before` });
    existing.items = mode.get('items') === 'replace' ? items : [...existing.items, ...items];
    return;
  }
  set.lists.set(d.list, { name: d.list, items, file: item.file, line: item.line });
}

function addMacro(set: RuleSet, d: Record<string, unknown>, item: RawItem, where: Where): void {
  if (typeof d.macro !== 'string' || !d.macro) return void set.errors.push({ ...where, message: 'macro needs a name' });
  if (typeof d.condition !== 'string') return void set.errors.push({ ...where, message: 'macro needs a condition (a string)' });
  const mode = changeMode(d, where, set, ['condition']);
  if (mode === 'error') return;
  const existing = set.macros.get(d.macro);
  if (mode) {
    if (!existing) return void set.errors.push({ ...where, message: `macro has append or override but no macro "${d.macro}" was defined before` });
    existing.condition = mode.get('condition') === 'replace' ? d.condition : `${existing.condition} ${d.condition}`;
    return;
  }
  set.macros.set(d.macro, { name: d.macro, condition: d.condition, file: item.file, line: item.line });
}

function parsePriority(v: unknown): Priority | undefined {
  if (typeof v !== 'string') return undefined;
  const p = v.trim().toLowerCase();
  if (p === 'info') return 'informational';
  return (PRIORITIES as readonly string[]).includes(p) ? (p as Priority) : undefined;
}

function parseExceptions(v: unknown, where: Where, set: RuleSet): ExceptionDef[] | undefined {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return (void set.errors.push({ ...where, message: 'exceptions must be a list' }), undefined);
  const out: ExceptionDef[] = [];
  for (const [i, e] of v.entries()) {
    if (typeof e !== 'object' || e === null || typeof (e as { name?: unknown }).name !== 'string') {
      set.errors.push({ ...where, message: `exceptions[${i}] needs a name` });
      return undefined;
    }
    const x = e as Record<string, unknown>;
    const values = x.values === undefined || x.values === null ? [] : x.values;
    if (!Array.isArray(values)) return (void set.errors.push({ ...where, message: `exception ${String(x.name)}: values must be a list` }), undefined);
    const fields = x.fields as string | string[] | undefined;
    if (fields !== undefined && typeof fields !== 'string' && !(Array.isArray(fields) && fields.every((f) => typeof f === 'string'))) {
      set.errors.push({ ...where, message: `exception ${String(x.name)}: fields is a field name or a list of them` });
      return undefined;
    }
    out.push({
      name: x.name as string,
      ...(fields !== undefined ? { fields } : {}),
      ...(x.comps !== undefined ? { comps: x.comps as string | string[] } : {}),
      values,
    });
  }
  return out;
}

function addRule(set: RuleSet, d: Record<string, unknown>, item: RawItem, where: Where): void {
  if (typeof d.rule !== 'string' || !d.rule) return void set.errors.push({ ...where, message: 'rule needs a name' });
  for (const key of Object.keys(d)) if (!RULE_KEYS.includes(key)) set.warnings.push({ ...where, message: `unknown key ${key} (ignored)` });
  const existing = set.rules.get(d.rule);
  const keys = Object.keys(d).filter((k) => k !== 'rule');
  // `- rule: X` + `enabled: false` alone: switch an earlier rule on or off.
  if (keys.length === 1 && keys[0] === 'enabled' && existing) {
    if (typeof d.enabled !== 'boolean') return void set.errors.push({ ...where, message: 'enabled must be true or false' });
    existing.enabled = d.enabled;
    return;
  }
  const mode = changeMode(d, where, set, d.override !== undefined ? [...new Set([...APPENDABLE_RULE_KEYS, ...REPLACEABLE_RULE_KEYS])] : APPENDABLE_RULE_KEYS);
  if (mode === 'error') return;
  const exceptions = parseExceptions(d.exceptions, where, set);
  if (!exceptions) return;
  if (mode) {
    if (!existing) return void set.errors.push({ ...where, message: `rule has append or override but no rule "${d.rule}" was defined before` });
    for (const [key, how] of mode) {
      if (how === 'append' && !APPENDABLE_RULE_KEYS.includes(key))
        return void set.errors.push({ ...where, message: `${key} can only be replaced, not appended` });
    }
    applyRuleChange(existing, d, mode, exceptions, where, set);
    return;
  }
  const missing = ['condition', 'output', 'priority'].filter((k) => d[k] === undefined);
  if (missing.length) return void set.errors.push({ ...where, message: `rule needs ${missing.join(', ')}${existing ? '' : ''}` });
  if (typeof d.condition !== 'string') return void set.errors.push({ ...where, message: 'condition must be a string' });
  if (typeof d.output !== 'string') return void set.errors.push({ ...where, message: 'output must be a string' });
  const priority = parsePriority(d.priority);
  if (!priority) return void set.errors.push({ ...where, message: `priority ${JSON.stringify(d.priority)} is not one of ${PRIORITIES.join(', ')}` });
  if (d.enabled !== undefined && typeof d.enabled !== 'boolean') return void set.errors.push({ ...where, message: 'enabled must be true or false' });
  const tags = stringList(d.tags);
  if (!tags) return void set.errors.push({ ...where, message: 'tags must be a list' });
  const rule: RuleDef = {
    name: d.rule,
    desc: typeof d.desc === 'string' ? d.desc : '',
    condition: d.condition,
    output: d.output,
    priority,
    enabled: d.enabled === undefined ? true : d.enabled,
    tags,
    source: typeof d.source === 'string' && d.source ? d.source : 'syscall',
    exceptions,
    file: item.file,
    line: item.line,
  };
  set.rules.set(d.rule, rule);
}

function applyRuleChange(
  rule: RuleDef,
  d: Record<string, unknown>,
  mode: Map<string, 'append' | 'replace'>,
  exceptions: ExceptionDef[],
  where: Where,
  set: RuleSet,
): void {
  for (const [key, how] of mode) {
    const v = d[key];
    switch (key) {
      case 'condition':
      case 'output':
      case 'desc':
        if (typeof v !== 'string') return void set.errors.push({ ...where, message: `${key} must be a string` });
        rule[key] = how === 'append' ? `${rule[key]} ${v}` : v;
        break;
      case 'tags': {
        const tags = stringList(v);
        if (!tags) return void set.errors.push({ ...where, message: 'tags must be a list' });
        rule.tags = how === 'append' ? [...new Set([...rule.tags, ...tags])] : tags;
        break;
      }
      case 'priority': {
        const p = parsePriority(v);
        if (!p) return void set.errors.push({ ...where, message: `priority ${JSON.stringify(v)} is not one of ${PRIORITIES.join(', ')}` });
        rule.priority = p;
        break;
      }
      case 'enabled':
        if (typeof v !== 'boolean') return void set.errors.push({ ...where, message: 'enabled must be true or false' });
        rule.enabled = v;
        break;
      case 'source':
        if (typeof v === 'string') rule.source = v;
        break;
      case 'exceptions':
        if (how === 'replace') rule.exceptions = exceptions;
        else {
          // Appending an exception of the same name adds to its values; a new name adds an exception.
          for (const e of exceptions) {
            const same = rule.exceptions.find((x) => x.name === e.name);
            if (same) same.values = [...same.values, ...e.values];
            else if (e.fields === undefined) return void set.errors.push({ ...where, message: `exception ${e.name} is new here and needs fields` });
            else rule.exceptions.push(e);
          }
        }
        break;
      default:
        break; // warn_evttypes, skip-if-unknown-filter, capture: nothing to do for Sherlock
    }
  }
}
