// Runbook files → checked runbooks. Each file is read and checked on its own:
// a broken one (bad YAML, a bad field) becomes a load error naming its path
// and the field, and never stops the others from loading.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ruleSchema, type RuleEventKind } from '../analysis/rules.js';
import { captures } from '../captures/registry.js';
import { checkRuleFiles } from '../falco/check-rules.js';
import { problemText } from '../falco/rule-file.js';
import { runbookRulePath } from '../falco/rule-sources.js';
import { EVENT_SOURCES } from '../falco/sources/index.js';
import { DEFAULT_RUN_DURATION_MS, MAX_RUN_DURATION_MS } from '../model/limits.js';
import { runbookSchema, TARGET_FIELDS, type Runbook, type RunbookFile, type TargetField } from './schema.js';
import { fillTemplates, findTemplates } from './templates.js';
import { paramsSchema } from '../captures/params-schema.js';

export interface LoadIssue {
  /** Dotted path of the failing field ("steps.2.capture"), or "(yaml)" for a syntax error, "" for the file. */
  field: string;
  message: string;
}

export interface RunbookLoadError extends LoadIssue {
  file: string;
  /** Every issue found; `field` and `message` are the first. */
  issues: LoadIssue[];
}

export type LoadResult = { runbook: Runbook } | { error: RunbookLoadError };

export const RUNBOOK_EXTENSIONS = ['.yaml', '.yml'];
const MAX_FILE_BYTES = 256 * 1024;
const MAX_ISSUES = 20;

/** "runbooks/bad.yaml: steps.0.capture: unknown capture ..." */
export function formatLoadError(e: Pick<RunbookLoadError, 'file' | 'field' | 'message'>): string {
  return `${e.file}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
}

const pathText = (path: readonly PropertyKey[]) => path.map(String).join('.');

function fail(file: string, issues: LoadIssue[]): { error: RunbookLoadError } {
  const list = issues.slice(0, MAX_ISSUES);
  return { error: { file, field: list[0]!.field, message: list[0]!.message, issues: list } };
}

function zodIssues(error: z.ZodError, prefix: (string | number)[] = []): LoadIssue[] {
  return error.issues.map((i) => ({
    field: pathText([...prefix, ...i.path]),
    message:
      i.code === 'invalid_type' && / received undefined$/.test(i.message)
        ? `${String(i.path.at(-1) ?? 'a value')} is missing (expected ${i.expected === 'array' ? 'a list' : `a ${i.expected}`})`
        : i.message,
  }));
}

/** The runbook files in a directory, sorted (*.yaml, *.yml; README and others are not runbooks). */
export function runbookFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && RUNBOOK_EXTENSIONS.includes(extname(e.name)))
    .map((e) => join(dir, e.name))
    .sort();
}

export function loadRunbookFile(file: string): LoadResult {
  let text: string;
  try {
    const buffer = readFileSync(file);
    if (buffer.length > MAX_FILE_BYTES) return fail(file, [{ field: '', message: `the file is larger than ${MAX_FILE_BYTES / 1024} KiB` }]);
    text = buffer.toString('utf8');
  } catch (err) {
    return fail(file, [{ field: '', message: `cannot read it: ${(err as Error).message}` }]);
  }
  return parseRunbook(text, file);
}

/** Checks one runbook's text; `file` names it in errors and its stem must be the runbook's name. */
export function parseRunbook(text: string, file: string): LoadResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return fail(
      file,
      doc.errors.map((e) => ({ field: '(yaml)', message: e.message.split('\n')[0]!.trim().replace(/:$/, '') })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return fail(file, [{ field: '(yaml)', message: (err as Error).message.split('\n')[0]! }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail(file, [{ field: '', message: 'a runbook is a YAML mapping (name, title, description, params, target, steps, ...)' }]);
  }
  const parsed = runbookSchema.safeParse(raw);
  if (!parsed.success) return fail(file, zodIssues(parsed.error));
  const issues = crossCheck(parsed.data, file);
  if (issues.length) return fail(file, issues);
  const book = parsed.data;
  const maxDuration = book.limits.maxDuration ?? MAX_RUN_DURATION_MS;
  return {
    runbook: {
      ...book,
      limits: {
        maxDuration,
        defaultDuration: book.limits.defaultDuration ?? Math.min(DEFAULT_RUN_DURATION_MS, maxDuration),
        ...(book.limits.maxEvents !== undefined ? { maxEvents: book.limits.maxEvents } : {}),
        ...(book.limits.cpuBudget !== undefined ? { cpuBudget: book.limits.cpuBudget } : {}),
      },
      file,
    },
  };
}

/** The captures whose events feed rules of this kind. */
const ruleSourcesOf = (kind: RuleEventKind) => [...captures.values()].filter((d) => d.ruleEvents?.kind === kind).map((d) => d.name);

/** What zod cannot see: names, template references, capture settings and rules with params filled in. */
function crossCheck(book: RunbookFile, file: string): LoadIssue[] {
  const issues: LoadIssue[] = [];
  const stem = basename(file, extname(file));
  if (book.name !== stem)
    issues.push({ field: 'name', message: `name "${book.name}" does not match the file name ${basename(file)} (call it ${book.name}.yaml)` });

  const declared = Object.keys(book.params);
  const declaredText = declared.length ? declared.join(', ') : 'none';
  for (const [field, param] of Object.entries(book.target) as [TargetField, string | undefined][]) {
    if (!param) continue;
    const spec = book.params[param];
    if (!spec) issues.push({ field: `target.${field}`, message: `param "${param}" is not declared; params: ${declaredText}` });
    else if (!(TARGET_FIELDS[field] as readonly string[]).includes(spec.type)) {
      issues.push({ field: `target.${field}`, message: `param "${param}" is ${spec.type}; target.${field} takes ${TARGET_FIELDS[field].join(' or ')}` });
    }
  }

  for (const [where, value] of [
    ['steps', book.steps],
    ['rules', book.rules],
  ] as const) {
    const { refs, malformed } = findTemplates(value, [where]);
    for (const path of malformed) issues.push({ field: pathText(path), message: 'templates are ${param}, or ${param:ms|us|s} for a duration' });
    for (const ref of refs) {
      const spec = book.params[ref.name];
      if (!spec) issues.push({ field: pathText(ref.path), message: `\${${ref.name}} names no declared param; params: ${declaredText}` });
      else if (ref.unit && spec.type !== 'duration')
        issues.push({ field: pathText(ref.path), message: `\${${ref.name}:${ref.unit}}: only duration params take a unit (${ref.name} is ${spec.type})` });
    }
  }
  if (issues.length) return issues;

  // Settings and rules as they would be with the defaults (params without one leave their settings out).
  const defaults = Object.fromEntries(Object.entries(book.params).flatMap(([name, spec]) => (spec.default !== undefined ? [[name, spec.default]] : [])));
  book.steps.forEach((step, i) => {
    const def = captures.get(step.capture)!;
    const settings = fillTemplates(step.params, defaults);
    const checked = paramsSchema(def).safeParse(settings);
    if (!checked.success) {
      for (const issue of zodIssues(checked.error, ['steps', i, 'params'])) {
        // A setting filled from a param's default: say which.
        const written = step.params[issue.field.split('.')[3] ?? ''];
        const ref = typeof written === 'string' ? findTemplates(written).refs[0] : undefined;
        issues.push(ref ? { ...issue, message: `${issue.message} (from \${${ref.name}}, default ${JSON.stringify(defaults[ref.name])})` } : issue);
      }
    }
  });
  const names = new Set<string>();
  const stepCaptures = new Set(book.steps.map((s) => s.capture));
  book.rules.forEach((rule, i) => {
    const checked = ruleSchema.safeParse(fillTemplates(rule, defaults));
    if (!checked.success) return void issues.push(...zodIssues(checked.error, ['rules', i]));
    if (names.has(checked.data.name)) issues.push({ field: `rules.${i}.name`, message: `rule "${checked.data.name}" is defined twice` });
    names.add(checked.data.name);
    const kind = checked.data.exec ? 'exec' : checked.data.open ? 'open' : 'connect';
    const sources = ruleSourcesOf(kind);
    if (!sources.some((c) => stepCaptures.has(c))) {
      issues.push({ field: `rules.${i}.${kind}`, message: `${kind} rules need a ${sources.join(' or ')} step` });
    }
  });
  issues.push(...falcoRuleIssues(book, file));
  return issues;
}

/** The runbook's Falco rule files: under its directory, and loading without errors. */
function falcoRuleIssues(book: RunbookFile, file: string): LoadIssue[] {
  const issues: LoadIssue[] = [];
  const dir = dirname(file);
  const paths: string[] = [];
  book.falcoRules.forEach((f, i) => {
    const path = runbookRulePath(dir, f);
    if (!path) issues.push({ field: `falcoRules.${i}`, message: `${f} is outside the runbooks directory` });
    else paths.push(path);
  });
  if (!paths.length || issues.length) return issues;
  if (!book.steps.some((s) => EVENT_SOURCES[s.capture])) {
    issues.push({ field: 'falcoRules', message: `Falco rules need a step that captures events: ${Object.keys(EVENT_SOURCES).join(', ')}` });
  }
  const { loaded, readProblems } = checkRuleFiles(paths);
  for (const p of readProblems) issues.push({ field: 'falcoRules', message: p });
  for (const e of loaded.errors) issues.push({ field: 'falcoRules', message: problemText({ ...e, file: relative(dir, e.file) || e.file }) });
  return issues;
}
