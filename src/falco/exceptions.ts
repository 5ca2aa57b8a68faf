// A rule's exceptions as a condition: `(condition) and not (e1 or e2 ...)`,
// where each value tuple of an exception is `f1 c1 v1 and f2 c2 v2 ...`
// (comps default to "=" for tuples and "in" for a single field), as Falco
// builds them. Values of in/intersects/pmatch may be lists or list names.
import type { Expr, FieldExpr, Operator, ValueExpr } from './ast.js';
import { CompileError } from './compile.js';
import { ConditionSyntaxError, parseCondition } from './condition-parser.js';
import type { ExceptionDef } from './rule-set.js';

const COMPS: Operator[] = [
  '=',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
  'in',
  'intersects',
  'pmatch',
];
const LIST_COMPS: Operator[] = ['in', 'intersects', 'pmatch'];
const at = { offset: 0 };

function fieldOf(text: string, where: string): FieldExpr {
  try {
    const e = parseCondition(`${text} exists`);
    if (e.kind === 'check') return e.field;
  } catch (err) {
    if (!(err instanceof ConditionSyntaxError)) throw err;
  }
  throw new CompileError(`"${text}" is not a field`, where, 0);
}

function comp(v: unknown, where: string): Operator {
  if (typeof v !== 'string' || !(COMPS as string[]).includes(v))
    throw new CompileError(`comp ${JSON.stringify(v)} is not one of ${COMPS.join(', ')}`, where, 0);
  return v as Operator;
}

function value(op: Operator, v: unknown, where: string): ValueExpr {
  if (LIST_COMPS.includes(op)) {
    const items = Array.isArray(v) ? v : [v];
    return { kind: 'list', items: items.map((i) => ({ value: String(i), pos: at })), pos: at };
  }
  if (Array.isArray(v) || (typeof v === 'object' && v !== null)) throw new CompileError(`${op} takes one value, not a list`, where, 0);
  return { kind: 'value', value: String(v), pos: at };
}

/** The exceptions' `not (...)` part, or undefined when none has values. */
export function exceptionsExpr(rule: string, exceptions: ExceptionDef[]): Expr | undefined {
  const alternatives: Expr[] = [];
  for (const e of exceptions) {
    const where = `rule ${rule}: exception ${e.name}`;
    if (e.fields === undefined) throw new CompileError('an exception needs fields', where, 0);
    if (!e.values.length) continue;
    if (typeof e.fields === 'string') {
      const field = fieldOf(e.fields, where);
      const op = e.comps === undefined ? 'in' : comp(e.comps, where);
      if (LIST_COMPS.includes(op)) alternatives.push({ kind: 'check', field, op, value: value(op, e.values, where), pos: at });
      else for (const v of e.values) alternatives.push({ kind: 'check', field, op, value: value(op, v, where), pos: at });
      continue;
    }
    const fields = e.fields.map((f) => fieldOf(f, where));
    const comps = e.comps === undefined ? fields.map((): Operator => '=') : Array.isArray(e.comps) ? e.comps.map((c) => comp(c, where)) : undefined;
    if (!comps || comps.length !== fields.length) throw new CompileError(`comps must be a list as long as fields (${fields.length})`, where, 0);
    for (const tuple of e.values) {
      if (!Array.isArray(tuple) || tuple.length !== fields.length) {
        throw new CompileError(
          `each value is a list of ${fields.length} (one per field: ${(e.fields as string[]).join(', ')}), got ${JSON.stringify(tuple)}`,
          where,
          0,
        );
      }
      const checks: Expr[] = fields.map((field, i) => ({ kind: 'check', field, op: comps[i]!, value: value(comps[i]!, tuple[i], where), pos: at }));
      alternatives.push(checks.length === 1 ? checks[0]! : { kind: 'and', children: checks, pos: at });
    }
  }
  if (!alternatives.length) return undefined;
  return { kind: 'not', child: alternatives.length === 1 ? alternatives[0]! : { kind: 'or', children: alternatives, pos: at }, pos: at };
}
