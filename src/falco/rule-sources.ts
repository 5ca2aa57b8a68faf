// Which Falco rule files a run reads, in order (later files change earlier
// ones, as falco_rules.local.yaml after falco_rules.yaml): the runbook's own
// (paths under the runbooks directory), then the operator's
// (SHERLOCK_FALCO_RULES or --falco-rules: files always apply; the *.yaml in
// a listed directory apply when a run request names them), then the files a
// request names.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path';
import type { RuleFile } from './load-rules.js';

/** A rule file bigger than this is refused (hundreds of rules are ~200 KiB). */
export const MAX_RULE_FILE_BYTES = 8 * 1024 * 1024;
const RULE_EXTENSIONS = ['.yaml', '.yml'];

export interface OperatorRules {
  /** Files that apply to every run that captures the events they need. */
  always: string[];
  /** Files a run request may name: name (file name without extension) → path. */
  named: Map<string, string>;
  /** Entries that could not be read. */
  problems: string[];
}

/** "a.yaml:/etc/sherlock/rules.d" → its paths. */
export const splitRulePaths = (text: string | undefined): string[] =>
  (text ?? '')
    .split(':')
    .map((p) => p.trim())
    .filter(Boolean);

export const ruleFileName = (path: string) => basename(path, extname(path));

export function operatorRules(paths: readonly string[]): OperatorRules {
  const out: OperatorRules = { always: [], named: new Map(), problems: [] };
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      out.problems.push(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
      continue;
    }
    if (!isDir) {
      out.always.push(path);
      out.named.set(ruleFileName(path), path);
      continue;
    }
    for (const entry of readdirSync(path).sort()) {
      if (RULE_EXTENSIONS.includes(extname(entry))) out.named.set(ruleFileName(entry), join(path, entry));
    }
  }
  return out;
}

/** A runbook's rule file: under the runbooks directory, never outside it. */
export function runbookRulePath(runbooksDir: string, file: string): string | undefined {
  const path = resolve(runbooksDir, file);
  const rel = relative(resolve(runbooksDir), path);
  return !rel || rel.startsWith('..') || isAbsolute(rel) ? undefined : path;
}

export interface RunRuleSpec {
  /** The runbook's rule files, relative to the runbooks directory. */
  files?: string[];
  /** Operator rule files the request names. */
  requested?: string[];
}

/** The run's rule files in order, and what could not be found. */
export function runRulePaths(spec: RunRuleSpec | undefined, runbooksDir: string, operator: OperatorRules): { paths: string[]; problems: string[] } {
  const paths: string[] = [];
  const problems = [...operator.problems];
  for (const f of spec?.files ?? []) {
    const path = runbookRulePath(runbooksDir, f);
    if (path) paths.push(path);
    else problems.push(`the runbook's rule file ${f} is outside the runbooks directory`);
  }
  paths.push(...operator.always);
  for (const name of spec?.requested ?? []) {
    const path = operator.named.get(name);
    if (!path)
      problems.push(
        `rule file "${name}" is not among this node's operator rule files (${[...operator.named.keys()].join(', ') || 'none: set SHERLOCK_FALCO_RULES'})`,
      );
    else if (!paths.includes(path)) paths.push(path);
  }
  return { paths: [...new Set(paths)], problems };
}

export function readRuleFiles(paths: readonly string[]): { files: RuleFile[]; problems: string[] } {
  const files: RuleFile[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    try {
      const size = statSync(path).size;
      if (size > MAX_RULE_FILE_BYTES) {
        problems.push(`${path}: ${size} bytes is more than a rule file may hold (${MAX_RULE_FILE_BYTES / 1048576} MiB)`);
        continue;
      }
      files.push({ path, text: readFileSync(path, 'utf8') });
    } catch (err) {
      problems.push(`${path}: cannot read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
  }
  return { files, problems };
}

/** A key that changes when one of the files does (path, size, mtime): for caching what was loaded. */
export function filesKey(paths: readonly string[]): string {
  return paths
    .map((p) => {
      try {
        const s = statSync(p);
        return `${p}\0${s.size}\0${s.mtimeMs}`;
      } catch {
        return `${p}\0missing`;
      }
    })
    .join('\n');
}
