// Rule files → rules ready to match: files read in order (later ones change
// earlier ones), every macro and rule condition parsed, exceptions added,
// each rule compiled against the event types Sherlock's sources produce.
// Each rule ends loaded, disabled (with the reason) or in error (with the
// file, line, rule and position).
import type { Expr } from './ast.js';
import { CompileError, compileCondition, SubexpressionSlots, type CompiledCondition } from './compile.js';
import { ConditionSyntaxError, parseCondition } from './condition-parser.js';
import { exceptionsExpr } from './exceptions.js';
import { compileOutput, type OutputFormat } from './output.js';
import { readRuleFile, type Problem } from './rule-file.js';
import { addItems, emptyRuleSet, type RuleDef } from './rule-set.js';

export interface RuleFile {
  /** As shown in messages: the path it was read from. */
  path: string;
  text: string;
}

export interface RuleStatus {
  rule: string;
  file: string;
  line: number;
  priority: string;
  state: 'loaded' | 'disabled' | 'error';
  /** Why it is disabled or in error. */
  reason?: string;
}

export interface LoadedRule {
  def: RuleDef;
  test: CompiledCondition['test'];
  eventTypes?: Set<string>;
  output: OutputFormat;
}

export interface LoadedRules {
  files: string[];
  rules: LoadedRule[];
  statuses: RuleStatus[];
  /** Problems that are not one rule's (YAML, lists, macros, versions), and rules' errors. */
  errors: Problem[];
  warnings: Problem[];
  /** The sub-expression slots the rules share (a matcher sizes its per-event memo by it). */
  slots: SubexpressionSlots;
}

/** "line 2, column 14" of an offset in a condition. */
export function positionText(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return line > 1 ? `line ${line}, column ${column}` : `column ${column}`;
}

export function loadRules(files: RuleFile[], producedTypes: ReadonlySet<string>, failureOnlyTypes?: ReadonlySet<string>): LoadedRules {
  const set = emptyRuleSet();
  for (const f of files) {
    const { items, errors } = readRuleFile(f.path, f.text);
    set.errors.push(...errors);
    addItems(set, items);
  }
  const errors = [...set.errors];
  const warnings = [...set.warnings];

  const macros = new Map<string, { expr: Expr }>();
  const broken = new Map<string, string>();
  for (const m of set.macros.values()) {
    try {
      macros.set(m.name, { expr: parseCondition(m.condition) });
    } catch (err) {
      if (!(err instanceof ConditionSyntaxError)) throw err;
      const message = `condition, ${positionText(m.condition, err.offset)}: ${err.message}`;
      broken.set(m.name, message);
      errors.push({ file: m.file, line: m.line, item: `macro ${m.name}`, message });
    }
  }
  const lists = new Map([...set.lists.values()].map((l) => [l.name, l.items] as const));
  const env = { macros, lists, producedTypes, ...(failureOnlyTypes ? { failureOnlyTypes } : {}) };
  const textOf = (where: string, rule: RuleDef) => (where.startsWith('macro ') ? (set.macros.get(where.slice(6))?.condition ?? '') : rule.condition);

  const slots = new SubexpressionSlots();
  const rules: LoadedRule[] = [];
  const statuses: RuleStatus[] = [];
  for (const def of set.rules.values()) {
    const status: RuleStatus = { rule: def.name, file: def.file, line: def.line, priority: def.priority, state: 'loaded' };
    statuses.push(status);
    const fail = (message: string) => {
      status.state = 'error';
      status.reason = message;
      errors.push({ file: def.file, line: def.line, item: `rule ${def.name}`, message });
    };
    let expr: Expr;
    try {
      expr = parseCondition(def.condition);
    } catch (err) {
      if (!(err instanceof ConditionSyntaxError)) throw err;
      fail(`condition, ${positionText(def.condition, err.offset)}: ${err.message}`);
      continue;
    }
    let compiled: CompiledCondition;
    try {
      const exceptions = exceptionsExpr(def.name, def.exceptions);
      const full: Expr = exceptions ? { kind: 'and', children: [expr, exceptions], pos: { offset: 0 } } : expr;
      compiled = compileCondition(full, `rule ${def.name}`, env, slots);
    } catch (err) {
      if (!(err instanceof CompileError)) throw err;
      const undefinedMacro = /^undefined macro "(.*)"$/.exec(err.message)?.[1];
      if (undefinedMacro && broken.has(undefinedMacro)) fail(`uses macro ${undefinedMacro}, which does not parse (${broken.get(undefinedMacro)})`);
      else if (err.where.includes('exception')) fail(`${err.where.replace(/^rule [^:]*: /, '')}: ${err.message}`);
      else fail(`${err.where === `rule ${def.name}` ? 'condition' : `in ${err.where}`}, ${positionText(textOf(err.where, def), err.offset)}: ${err.message}`);
      continue;
    }
    const output = compileOutput(def.output);
    if (output.unavailable.length)
      warnings.push({
        file: def.file,
        line: def.line,
        item: `rule ${def.name}`,
        message: `output fields ${output.unavailable.join(', ')} are not available and print <NA>`,
      });
    if (def.source !== 'syscall') {
      status.state = 'disabled';
      status.reason = `source ${def.source} is not captured by Sherlock (syscall events only)`;
    } else if (compiled.unavailable.length) {
      status.state = 'disabled';
      status.reason = compiled.unavailable.join('; ');
    } else if (compiled.never) {
      status.state = 'disabled';
      status.reason = `it matches none of the event types Sherlock captures (${typesText(producedTypes)})`;
    } else if (!def.enabled) {
      status.state = 'disabled';
      status.reason = 'enabled: false in the rules file';
    }
    const failedOnly =
      status.state === 'loaded' && failureOnlyTypes && compiled.eventTypes?.size ? [...compiled.eventTypes].filter((t) => producedTypes.has(t)) : [];
    if (failedOnly.length && failedOnly.every((t) => failureOnlyTypes!.has(t)))
      warnings.push({
        file: def.file,
        line: def.line,
        item: `rule ${def.name}`,
        message: `matches failed calls only: Sherlock sees ${typesText(new Set(failedOnly))} only when they fail (the syscallerrors capture)`,
      });
    if (status.state === 'loaded') rules.push({ def, test: compiled.test, ...(compiled.eventTypes ? { eventTypes: compiled.eventTypes } : {}), output });
  }
  return { files: files.map((f) => f.path), rules, statuses, errors, warnings, slots };
}

/** The produced types, shortened: syscallerrors makes every syscall name of the machine. */
function typesText(types: ReadonlySet<string>): string {
  const sorted = [...types].sort();
  return sorted.length > 16 ? `${sorted.slice(0, 16).join(', ')} and ${sorted.length - 16} more` : sorted.join(', ');
}
