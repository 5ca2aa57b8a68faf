// Parses a Falco condition into an Expr, following libs' filter grammar:
// `or` binds loosest, then `and`, then `not`; a check is a field (optionally
// with [arg] and transformers) and an operator, or a macro name, or a
// parenthesized expression. Values are bare words (no blanks, parentheses,
// commas, `=` or quotes) or quoted with " or ' (backslash escapes).
import { TRANSFORMERS, type Expr, type FieldExpr, type Operator, type Transformer, type ValueExpr } from './ast.js';

export class ConditionSyntaxError extends Error {
  override name = 'ConditionSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const NUM_OPS = ['<=', '<', '>=', '>'] as const;
const STR_SYMBOL_OPS = ['==', '=', '!='] as const;
const STR_WORD_OPS = ['glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex'] as const;
const LIST_OPS = ['intersects', 'in', 'pmatch'] as const;

const IDENT = /[a-zA-Z][a-zA-Z0-9_]*/y;
const FIELD_NAME = /[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+/y;
const FIELD_ARG_BARE = /[^ \b\t\n\r[\]"']+/y;
const HEX_NUM = /0[xX][0-9a-fA-F]+/y;
const NUM = /[+-]?[0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?/y;
const BARE_STR = /[^ \b\t\n\r(),="']+/y;
const BLANK = /[ \t\n\r\b\f]+/y;
/** Nesting deeper than this is refused (a recursive-descent parser must bound its stack). */
const MAX_DEPTH = 100;

export function parseCondition(text: string): Expr {
  return new ConditionParser(text).parseAll();
}

/** Unquotes a "..." or '...' string: \" \' \\ \n \t \r \b \f are escapes; other backslashes stay. */
export function unquote(quoted: string): string {
  const body = quoted.slice(1, -1);
  return body.replace(/\\(.)/gs, (m, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case '"':
      case "'":
      case '\\':
        return c;
      default:
        return m;
    }
  });
}

class ConditionParser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  parseAll(): Expr {
    this.blank();
    if (this.pos >= this.text.length) throw this.error('the condition is empty');
    const expr = this.parseOr();
    this.blank();
    if (this.pos < this.text.length) throw this.error(`unexpected "${this.preview()}"; expected "and", "or" or the end of the condition`);
    return expr;
  }

  private parseOr(): Expr {
    const start = this.pos;
    const children = [this.parseAnd()];
    while (this.keyword('or')) children.push(this.parseAnd());
    return children.length === 1 ? children[0]! : { kind: 'or', children, pos: { offset: start } };
  }

  private parseAnd(): Expr {
    const start = this.pos;
    const children = [this.parseNot()];
    while (this.keyword('and')) children.push(this.parseNot());
    return children.length === 1 ? children[0]! : { kind: 'and', children, pos: { offset: start } };
  }

  private parseNot(): Expr {
    this.blank();
    const start = this.pos;
    if (this.keyword('not')) {
      this.enter();
      const child = this.parseNot();
      this.depth--;
      return { kind: 'not', child, pos: { offset: start } };
    }
    return this.parseCheck();
  }

  private parseCheck(): Expr {
    this.blank();
    const start = this.pos;
    if (this.peek('(')) {
      this.pos++;
      this.enter();
      const inner = this.parseOr();
      this.depth--;
      this.blank();
      if (!this.peek(')')) throw this.error(`expected ")" to close the "(" at ${start + 1}`);
      this.pos++;
      return inner;
    }
    const transformer = this.transformerOpen();
    if (transformer) {
      const field = this.transformerRest(transformer as Transformer, start);
      return this.parseCondition(field, start);
    }
    const name = this.match(FIELD_NAME);
    if (name !== undefined) return this.parseCondition(this.fieldRest(name, start), start);
    const ident = this.match(IDENT);
    if (ident !== undefined) {
      if (['and', 'or', 'not'].includes(ident)) {
        this.pos = start;
        throw this.error(`"${ident}" where a check was expected`);
      }
      return { kind: 'macro', name: ident, pos: { offset: start } };
    }
    throw this.error(
      this.pos >= this.text.length
        ? 'the condition ends where a check was expected'
        : `unexpected "${this.preview()}" where a field, a macro or "(" was expected`,
    );
  }

  private fieldRest(name: string, start: number): FieldExpr {
    if (!this.peek('[')) return { kind: 'field', name, pos: { offset: start } };
    this.pos++;
    const arg = this.quoted() ?? this.match(FIELD_ARG_BARE);
    if (arg === undefined) throw this.error(`${name}[...] needs an argument`);
    if (!this.peek(']')) throw this.error(`expected "]" after the argument of ${name}`);
    this.pos++;
    return { kind: 'field', name, arg, pos: { offset: start } };
  }

  /** `tolower(` and friends (also `val(` when allowVal); the name, with the "(" consumed. */
  private transformerOpen(allowVal = false): Transformer | 'val' | undefined {
    const start = this.pos;
    const ident = this.match(IDENT);
    if (ident !== undefined && this.peek('(') && ((TRANSFORMERS as readonly string[]).includes(ident) || (allowVal && ident === 'val'))) {
      this.pos++;
      return ident as Transformer | 'val';
    }
    this.pos = start;
    return undefined;
  }

  private transformerRest(fn: Transformer, start: number): FieldExpr {
    this.enter();
    this.blank();
    const innerStart = this.pos;
    const inner = this.transformerOpen();
    let arg: FieldExpr;
    if (inner && inner !== 'val') arg = this.transformerRest(inner, innerStart);
    else {
      const name = this.match(FIELD_NAME);
      if (name === undefined) throw this.error(`${fn}() takes a field`);
      arg = this.fieldRest(name, innerStart);
    }
    this.blank();
    if (!this.peek(')')) throw this.error(`expected ")" to close ${fn}(`);
    this.pos++;
    this.depth--;
    return { kind: 'transform', fn, arg, pos: { offset: start } };
  }

  private parseCondition(field: FieldExpr, start: number): Expr {
    this.blank();
    const opStart = this.pos;
    const check = (op: Operator, value?: ValueExpr): Expr => ({ kind: 'check', field, op, ...(value ? { value } : {}), pos: { offset: start } });
    if (this.word('exists')) return check('exists');
    for (const op of NUM_OPS) {
      if (this.text.startsWith(op, this.pos)) {
        this.pos += op.length;
        return check(op, this.numValueOrField());
      }
    }
    for (const op of STR_SYMBOL_OPS) {
      if (this.text.startsWith(op, this.pos)) {
        this.pos += op.length;
        return check(op, this.strValueOrField());
      }
    }
    for (const op of STR_WORD_OPS) if (this.word(op)) return check(op, this.strValueOrField());
    for (const op of LIST_OPS) if (this.word(op)) return check(op, this.listValueOrField());
    this.pos = opStart;
    throw this.error(
      this.pos >= this.text.length
        ? `the condition ends after ${this.text.slice(start, opStart).trim()}; expected an operator`
        : `"${this.preview()}" is not an operator (=, !=, <, <=, >, >=, contains, icontains, bcontains, startswith, bstartswith, endswith, glob, iglob, regex, in, intersects, pmatch, exists)`,
    );
  }

  private fieldValue(): ValueExpr | undefined {
    this.blank();
    const start = this.pos;
    const t = this.transformerOpen(true);
    if (!t) return undefined;
    if (t === 'val') {
      this.blank();
      const name = this.match(FIELD_NAME);
      if (name === undefined) throw this.error('val() takes a field');
      const field = this.fieldRest(name, start);
      this.blank();
      if (!this.peek(')')) throw this.error('expected ")" to close val(');
      this.pos++;
      return { kind: 'fieldvalue', field, pos: { offset: start } };
    }
    return { kind: 'fieldvalue', field: this.transformerRest(t, start), pos: { offset: start } };
  }

  private numValueOrField(): ValueExpr {
    const f = this.fieldValue();
    if (f) return f;
    this.blank();
    const start = this.pos;
    const v = this.match(HEX_NUM) ?? this.match(NUM);
    if (v === undefined) throw this.error(`expected a number${this.pos < this.text.length ? `, got "${this.preview()}"` : ''}`);
    return { kind: 'value', value: v, pos: { offset: start } };
  }

  private strValueOrField(): ValueExpr {
    const f = this.fieldValue();
    if (f) return f;
    return this.strValue();
  }

  private strValue(): ValueExpr & { kind: 'value' } {
    this.blank();
    const start = this.pos;
    const v = this.quoted() ?? this.match(BARE_STR);
    if (v === undefined)
      throw this.error(this.pos >= this.text.length ? 'the condition ends where a value was expected' : `expected a value, got "${this.preview()}"`);
    return { kind: 'value', value: v, pos: { offset: start } };
  }

  private listValueOrField(): ValueExpr {
    const f = this.fieldValue();
    if (f) return f;
    this.blank();
    const start = this.pos;
    if (this.peek('(')) {
      this.pos++;
      const items: { value: string; pos: { offset: number } }[] = [];
      this.blank();
      if (this.peek(')')) {
        this.pos++;
        return { kind: 'list', items, pos: { offset: start } };
      }
      for (;;) {
        const item = this.strValue();
        items.push({ value: item.value, pos: item.pos });
        this.blank();
        if (this.peek(',')) {
          this.pos++;
          continue;
        }
        if (this.peek(')')) {
          this.pos++;
          return { kind: 'list', items, pos: { offset: start } };
        }
        throw this.error(`expected "," or ")" in the list opened at ${start + 1}`);
      }
    }
    const name = this.match(IDENT);
    if (name !== undefined) return { kind: 'listref', name, pos: { offset: start } };
    throw this.error('expected a list: "(a, b)" or a list name');
  }

  // ---- lexing -------------------------------------------------------------

  private blank(): void {
    this.match(BLANK);
  }

  private peek(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m || m.index !== this.pos) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private quoted(): string | undefined {
    const q = this.text[this.pos];
    if (q !== '"' && q !== "'") return undefined;
    for (let i = this.pos + 1; i < this.text.length; i++) {
      if (this.text[i] === '\\') {
        i++;
        continue;
      }
      if (this.text[i] === q) {
        const raw = this.text.slice(this.pos, i + 1);
        this.pos = i + 1;
        return unquote(raw);
      }
    }
    throw this.error(`the string opened with ${q} is not closed`);
  }

  /** A word operator: the word, then a blank, "(" or the end (so `in` is not the start of `inbound`). */
  private word(w: string): boolean {
    if (!this.text.startsWith(w, this.pos)) return false;
    const next = this.text[this.pos + w.length];
    if (next !== undefined && !/[ \t\n\r()]/.test(next)) return false;
    this.pos += w.length;
    return true;
  }

  /** `and`, `or`, `not` after optional blanks: followed by a blank or "(". */
  private keyword(w: string): boolean {
    const save = this.pos;
    this.blank();
    if (this.word(w)) {
      this.blank();
      return true;
    }
    this.pos = save;
    return false;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw this.error(`nesting deeper than ${MAX_DEPTH} levels`);
  }

  private preview(): string {
    const rest = this.text.slice(this.pos);
    const m = /^\S{1,20}/.exec(rest);
    return m ? m[0] : rest.slice(0, 20);
  }

  private error(message: string): ConditionSyntaxError {
    return new ConditionSyntaxError(message, this.pos);
  }
}
