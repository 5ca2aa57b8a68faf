// The syntax tree of a Falco condition (libs' filter grammar): what the
// parser makes and the compiler reads. Positions are offsets into the
// condition text, so an error can point at the character.

export interface Pos {
  /** 0-based offset into the condition text. */
  offset: number;
}

/** A field, possibly with an argument (`proc.aname[2]`, `evt.arg.flags`) or wrapped in transformers. */
export type FieldExpr = { kind: 'field'; name: string; arg?: string; pos: Pos } | { kind: 'transform'; fn: Transformer; arg: FieldExpr; pos: Pos };

export type Transformer = 'tolower' | 'toupper' | 'b64' | 'basename' | 'len';
export const TRANSFORMERS: readonly Transformer[] = ['tolower', 'toupper', 'b64', 'basename', 'len'];

/** The right side of a comparison. */
export type ValueExpr =
  | { kind: 'value'; value: string; pos: Pos }
  /** `(a, b, "c d")`; bare items may name lists (expanded when compiled). */
  | { kind: 'list'; items: { value: string; pos: Pos }[]; pos: Pos }
  /** `in shell_binaries`: a list by name alone. */
  | { kind: 'listref'; name: string; pos: Pos }
  /** `val(proc.pname)` or a transformed field: another field of the same event. */
  | { kind: 'fieldvalue'; field: FieldExpr; pos: Pos };

export type Operator =
  | '='
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'contains'
  | 'icontains'
  | 'bcontains'
  | 'startswith'
  | 'bstartswith'
  | 'endswith'
  | 'glob'
  | 'iglob'
  | 'regex'
  | 'in'
  | 'intersects'
  | 'pmatch'
  | 'exists';

export type Expr =
  | { kind: 'and'; children: Expr[]; pos: Pos }
  | { kind: 'or'; children: Expr[]; pos: Pos }
  | { kind: 'not'; child: Expr; pos: Pos }
  /** A macro, by name. */
  | { kind: 'macro'; name: string; pos: Pos }
  | { kind: 'check'; field: FieldExpr; op: Operator; value?: ValueExpr; pos: Pos };

/** The field a (possibly transformed) field expression reads. */
export function baseField(f: FieldExpr): { name: string; arg?: string } {
  return f.kind === 'field' ? f : baseField(f.arg);
}

export function fieldText(f: FieldExpr): string {
  if (f.kind === 'transform') return `${f.fn}(${fieldText(f.arg)})`;
  return f.arg === undefined ? f.name : `${f.name}[${f.arg}]`;
}
