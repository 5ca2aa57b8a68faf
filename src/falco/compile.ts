// A parsed condition → a predicate over events. Macros and lists are
// expanded first (names resolve among everything loaded, so order of
// definition does not matter, as in Falco); checks that can never hold for the
// event types Sherlock produces are folded away (so `outbound`'s sendto branch
// does not need fields Sherlock lacks); then each field is looked up: one
// Sherlock cannot fill makes the rule unavailable, with the reason.
import { baseField, fieldText, type Expr, type FieldExpr, type Operator, type Pos, type ValueExpr } from './ast.js';
import { unquote } from './condition-parser.js';
import { lookupField, type EventMemo, type FieldContext, type FieldType, type FieldValue } from './fields.js';
import { dynamicTest, OperatorError, prepareTest, type Scalar, type ScalarTest } from './operators.js';

export type Predicate = (c: FieldContext) => boolean;

/** A problem in a condition, at an offset of the text it was found in (`where`: "rule X", "macro Y"). */
export class CompileError extends Error {
  override name = 'CompileError';
  constructor(
    message: string,
    readonly where: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface CompileEnv {
  macros: ReadonlyMap<string, { expr: Expr }>;
  lists: ReadonlyMap<string, readonly string[]>;
  /** Event types the sources produce (evt.type values). */
  producedTypes: ReadonlySet<string>;
  /**
   * Of those, the ones seen only as failures with no fd (syscallerrors): a
   * branch of a condition that needs them and a field such events never
   * carry is false, not a reason to disable the rule (Falco's outbound
   * macro has a sendto branch on fd.connected).
   */
  failureOnlyTypes?: ReadonlySet<string>;
}

export interface CompiledCondition {
  test: Predicate;
  /** The event types it can match; undefined: any. */
  eventTypes?: Set<string>;
  /** Why it cannot be evaluated (fields Sherlock cannot fill); empty when it can. */
  unavailable: string[];
  /** It holds for no event Sherlock produces. */
  never: boolean;
}

type Resolved =
  | { k: 'const'; v: boolean }
  | { k: 'and' | 'or'; c: Resolved[] }
  | { k: 'not'; c: Resolved }
  | { k: 'check'; field: FieldExpr; op: Operator; values?: string[]; rhsField?: FieldExpr; where: string; pos: Pos };

const TRUE: Resolved = { k: 'const', v: true };
const FALSE: Resolved = { k: 'const', v: false };

/** Expands list items: names of lists become their items (recursively); quoted items lose their quotes. */
export function expandListItems(items: readonly string[], lists: ReadonlyMap<string, readonly string[]>, seen: Set<string> = new Set()): string[] {
  const out: string[] = [];
  for (const item of items) {
    const nested = lists.get(item);
    if (nested && !seen.has(item)) {
      seen.add(item);
      out.push(...expandListItems(nested, lists, seen));
      seen.delete(item);
    } else if (item.length >= 2 && (item[0] === '"' || item[0] === "'") && item.at(-1) === item[0]) out.push(unquote(item));
    else out.push(item);
  }
  return out;
}

/**
 * Shared by every rule of a set: each distinct sub-expression (a check, or a
 * macro's whole and/or) gets a slot, so one event computes it once however
 * many rules contain it (open_read, spawned_process, outbound, lists of
 * binaries repeat across a rule set).
 */
export class SubexpressionSlots {
  private readonly ids = new Map<string, number>();
  /** Built predicates by key: a sub-expression repeated across rules is built once. */
  readonly built = new Map<string, Predicate>();
  get count(): number {
    return this.ids.size;
  }
  slot(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = this.ids.size));
    return id;
  }
}

export function newEventMemo(slots: SubexpressionSlots): EventMemo {
  return { stamp: new Float64Array(slots.count).fill(-1), value: new Uint8Array(slots.count) };
}

const expansions = new WeakMap<ReadonlyMap<string, readonly string[]>, Map<string, string[]>>();

/** A list by name, expanded once per set of lists. */
function expandedList(name: string, env: CompileEnv): string[] {
  let cache = expansions.get(env.lists);
  if (!cache) expansions.set(env.lists, (cache = new Map()));
  let items = cache.get(name);
  if (!items) cache.set(name, (items = expandListItems([name], env.lists)));
  return items;
}

export function compileCondition(expr: Expr, where: string, env: CompileEnv, slots: SubexpressionSlots = new SubexpressionSlots()): CompiledCondition {
  const resolved = resolve(expr, where, env, []);
  const unavailable = new Set<string>();
  collectUnavailable(resolved, unavailable);
  const never = resolved.k === 'const' && !resolved.v;
  if (unavailable.size || never) return { test: () => false, unavailable: [...unavailable], never };
  const eventTypes = typesOf(resolved, env.producedTypes);
  return { test: build(resolved, slots).fn, unavailable: [], never: eventTypes?.size === 0, ...(eventTypes ? { eventTypes } : {}) };
}

const resolvedMacros = new WeakMap<CompileEnv, Map<string, Resolved>>();

function resolve(e: Expr, where: string, env: CompileEnv, macroStack: string[]): Resolved {
  switch (e.kind) {
    case 'and': {
      const c = e.children.map((x) => resolve(x, where, env, macroStack));
      if (c.some((x) => x.k === 'const' && !x.v)) return FALSE;
      const rest = c.filter((x) => x.k !== 'const');
      if (rest.some((x) => onlyFailureTypes(x, env))) {
        const unavailable = new Set<string>();
        rest.forEach((x) => collectUnavailable(x, unavailable));
        if (unavailable.size) return FALSE;
      }
      return rest.length === 0 ? TRUE : rest.length === 1 ? rest[0]! : { k: 'and', c: rest };
    }
    case 'or': {
      const c = e.children.map((x) => resolve(x, where, env, macroStack));
      if (c.some((x) => x.k === 'const' && x.v)) return TRUE;
      const rest = c.filter((x) => x.k !== 'const');
      return rest.length === 0 ? FALSE : rest.length === 1 ? rest[0]! : { k: 'or', c: rest };
    }
    case 'not': {
      const c = resolve(e.child, where, env, macroStack);
      return c.k === 'const' ? { k: 'const', v: !c.v } : { k: 'not', c };
    }
    case 'macro': {
      const macro = env.macros.get(e.name);
      if (!macro) throw new CompileError(`undefined macro "${e.name}"`, where, e.pos.offset);
      if (macroStack.includes(e.name))
        throw new CompileError(`macro "${e.name}" refers to itself (${[...macroStack, e.name].join(' → ')})`, where, e.pos.offset);
      // A macro resolves the same in every rule: once per rule set (its tree is then shared, and built once).
      let cache = resolvedMacros.get(env);
      if (!cache) resolvedMacros.set(env, (cache = new Map()));
      let resolved = cache.get(e.name);
      if (!resolved) cache.set(e.name, (resolved = resolve(macro.expr, `macro ${e.name}`, env, [...macroStack, e.name])));
      return resolved;
    }
    case 'check':
      return resolveCheck(e, where, env);
  }
}

function resolveCheck(e: Expr & { kind: 'check' }, where: string, env: CompileEnv): Resolved {
  const check: Resolved & { k: 'check' } = { k: 'check', field: e.field, op: e.op, where, pos: e.pos };
  const v: ValueExpr | undefined = e.value;
  if (v?.kind === 'value') check.values = [v.value];
  else if (v?.kind === 'list')
    check.values =
      v.items.length === 1 && env.lists.has(v.items[0]!.value)
        ? expandedList(v.items[0]!.value, env)
        : expandListItems(
            v.items.map((i) => i.value),
            env.lists,
          );
  else if (v?.kind === 'listref') {
    if (!env.lists.has(v.name)) throw new CompileError(`undefined list "${v.name}"`, where, v.pos.offset);
    check.values = expandedList(v.name, env);
  } else if (v?.kind === 'fieldvalue') check.rhsField = v.field;
  // What Sherlock's events can never be, decided now.
  if (e.field.kind === 'field' && check.values) {
    const name = e.field.name;
    if ((name === 'evt.type' || name === 'syscall.type') && ['=', '==', 'in', 'intersects', '!='].includes(e.op)) {
      const produced = check.values.some((t) => env.producedTypes.has(t));
      if (e.op === '!=') return produced ? check : TRUE;
      return produced ? check : FALSE;
    }
    // Exits ("<") and Falco's enter-only events (">": signaldeliver, procexit) are decided per event; nothing else is a direction.
    if (name === 'evt.dir' && ['=', '==', '!='].includes(e.op) && !['<', '>'].includes(String(check.values[0]))) return e.op === '!=' ? TRUE : FALSE;
  }
  return check;
}

/** An evt.type check whose types are all seen only as failures without an fd. */
function onlyFailureTypes(r: Resolved, env: CompileEnv): boolean {
  if (r.k !== 'check' || !env.failureOnlyTypes?.size || !r.values || !['=', '==', 'in'].includes(r.op)) return false;
  if (r.field.kind !== 'field' || (r.field.name !== 'evt.type' && r.field.name !== 'syscall.type')) return false;
  const produced = r.values.filter((t) => env.producedTypes.has(t));
  return produced.length > 0 && produced.every((t) => env.failureOnlyTypes!.has(t));
}

const lookedUp = new Map<string, ReturnType<typeof lookupField>>();
/** lookupField is pure: each name and argument once per process. */
function lookupFieldOnce(name: string, arg: string | undefined): ReturnType<typeof lookupField> {
  const key = `${name}\0${arg ?? ''}`;
  let found = lookedUp.get(key);
  if (!found) lookedUp.set(key, (found = lookupField(name, arg)));
  return found;
}

function collectUnavailable(r: Resolved, out: Set<string>): void {
  if (r.k === 'and' || r.k === 'or') r.c.forEach((x) => collectUnavailable(x, out));
  else if (r.k === 'not') collectUnavailable(r.c, out);
  else if (r.k === 'check') {
    for (const f of [r.field, r.rhsField]) {
      if (!f) continue;
      const base = baseField(f);
      const found = lookupFieldOnce(base.name, base.arg);
      if ('error' in found) out.add(found.error);
    }
  }
}

function typesOf(r: Resolved, produced: ReadonlySet<string>): Set<string> | undefined {
  switch (r.k) {
    case 'const':
      return r.v ? undefined : new Set();
    case 'check':
      if (
        r.field.kind === 'field' &&
        (r.field.name === 'evt.type' || r.field.name === 'syscall.type') &&
        r.values &&
        ['=', '==', 'in', 'intersects'].includes(r.op)
      ) {
        return new Set(r.values.filter((t) => produced.has(t)));
      }
      return undefined;
    case 'not':
      return undefined;
    case 'and': {
      let acc: Set<string> | undefined;
      for (const c of r.c) {
        const t = typesOf(c, produced);
        if (!t) continue;
        acc = acc ? new Set([...acc].filter((x) => t.has(x))) : t;
      }
      return acc;
    }
    case 'or': {
      const acc = new Set<string>();
      for (const c of r.c) {
        const t = typesOf(c, produced);
        if (!t) return undefined;
        t.forEach((x) => acc.add(x));
      }
      return acc;
    }
  }
}

type Getter = (c: FieldContext) => FieldValue;

/** A field expression's reader and the type of what it reads (transformers change it). */
function getter(f: FieldExpr, where: string): { get: Getter; type: FieldType; name: string } {
  if (f.kind === 'field') {
    const found = lookupField(f.name, f.arg);
    if ('error' in found) throw new CompileError(found.error, where, f.pos.offset);
    const { def, arg } = found;
    const multi = def.multiWithoutArg && arg === undefined;
    return { get: multi || arg !== undefined ? (c) => def.extract(c, arg) : (c) => def.extract(c), type: def.type, name: fieldText(f) };
  }
  const inner = getter(f.arg, where);
  if (f.fn === 'len') {
    if (inner.type !== 'string') throw new CompileError(`len() takes a string or list field, not ${inner.name}`, where, f.pos.offset);
    return {
      get: (c) => {
        const v = inner.get(c);
        return v === undefined ? undefined : Array.isArray(v) ? v.length : String(v).length;
      },
      type: 'number',
      name: fieldText(f),
    };
  }
  if (inner.type !== 'string') throw new CompileError(`${f.fn}() takes a string field, not ${inner.name}`, where, f.pos.offset);
  const fn = TRANSFORM[f.fn];
  return {
    get: (c) => {
      const v = inner.get(c);
      if (v === undefined) return undefined;
      return Array.isArray(v) ? (v as string[]).map((x) => fn(String(x))) : fn(String(v));
    },
    type: 'string',
    name: fieldText(f),
  };
}

const TRANSFORM: Record<'tolower' | 'toupper' | 'b64' | 'basename', (s: string) => string> = {
  tolower: (s) => s.toLowerCase(),
  toupper: (s) => s.toUpperCase(),
  b64: (s) => Buffer.from(s, 'base64').toString('utf8'),
  basename: (s) => {
    const i = s.lastIndexOf('/');
    return i < 0 ? s : s.slice(i + 1);
  },
};

/** A node's predicate and its structural key (equal keys compute the same thing). */
const builtTrees = new WeakMap<SubexpressionSlots, WeakMap<Resolved, { fn: Predicate; key: string }>>();

/** A shared (macro) tree is built once per slot set. */
function build(r: Resolved, slots: SubexpressionSlots): { fn: Predicate; key: string } {
  if (r.k === 'const') return buildTree(r, slots);
  let trees = builtTrees.get(slots);
  if (!trees) builtTrees.set(slots, (trees = new WeakMap()));
  let built = trees.get(r);
  if (!built) trees.set(r, (built = buildTree(r, slots)));
  return built;
}

function buildTree(r: Resolved, slots: SubexpressionSlots): { fn: Predicate; key: string } {
  switch (r.k) {
    case 'const': {
      const v = r.v;
      return { fn: () => v, key: String(v) };
    }
    case 'not': {
      const c = build(r.c, slots);
      const fn = c.fn;
      return { fn: (x) => !fn(x), key: `not(${c.key})` };
    }
    case 'and':
    case 'or': {
      const built = r.c.map((c) => build(c, slots));
      const cs = built.map((b) => b.fn);
      const key = `${r.k}(${built.map((b) => b.key).join(',')})`;
      const fn: Predicate =
        r.k === 'and'
          ? (x) => {
              for (const c of cs) if (!c(x)) return false;
              return true;
            }
          : (x) => {
              for (const c of cs) if (c(x)) return true;
              return false;
            };
      return { fn: reuse(slots, key, () => fn), key };
    }
    case 'check': {
      const key = `${fieldText(r.field)} ${r.op} ${r.rhsField ? `val(${fieldText(r.rhsField)})` : JSON.stringify(r.values ?? [])}`;
      return { fn: reuse(slots, key, () => buildCheck(r)), key };
    }
  }
}

/** The memoized predicate of `key`, built the first time it is met. */
function reuse(slots: SubexpressionSlots, key: string, make: () => Predicate): Predicate {
  let fn = slots.built.get(key);
  if (!fn) slots.built.set(key, (fn = memoized(make(), slots.slot(key))));
  return fn;
}

/** Computes once per event (FieldContext.num) when the context carries a memo. */
function memoized(fn: Predicate, slot: number): Predicate {
  return (c) => {
    const memo = c.memo;
    if (!memo) return fn(c);
    if (memo.stamp[slot] === c.num) return memo.value[slot] === 1;
    const v = fn(c);
    memo.stamp[slot] = c.num;
    memo.value[slot] = v ? 1 : 0;
    return v;
  };
}

const anyOf = (v: FieldValue, test: ScalarTest) => (Array.isArray(v) ? (v as Scalar[]).some(test) : test(v as Scalar));

function buildCheck(r: Resolved & { k: 'check' }): Predicate {
  const { get, type, name } = getter(r.field, r.where);
  if (r.op === 'exists')
    return (c) => {
      const v = get(c);
      return v !== undefined && (!Array.isArray(v) || v.length > 0);
    };
  if (r.rhsField) {
    const rhs = getter(r.rhsField, r.where);
    return (c) => {
      const v = get(c);
      if (v === undefined) return false;
      const test = dynamicTest(r.op, type, rhs.get(c) as Scalar | Scalar[] | undefined, name);
      return test ? anyOf(v, test) : false;
    };
  }
  let test: ScalarTest;
  try {
    test = prepareTest(r.op, type, r.values ?? [], name);
  } catch (err) {
    if (err instanceof OperatorError) throw new CompileError(err.message, r.where, r.pos.offset);
    throw err;
  }
  return (c) => {
    const v = get(c);
    return v !== undefined && anyOf(v, test);
  };
}
