// Loading rule files to check them, without events: for `sherlock rules
// check` and for the operator's files when `sherlock up` or a worker starts.
import { loadRules, type LoadedRules } from './load-rules.js';
import { problemText } from './rule-file.js';
import { operatorRules, readRuleFiles } from './rule-sources.js';
import { FAILURE_ONLY_TYPES, PRODUCED_TYPES } from './sources/index.js';

export function checkRuleFiles(paths: readonly string[]): { loaded: LoadedRules; readProblems: string[] } {
  const { files, problems } = readRuleFiles(paths);
  return { loaded: loadRules(files, PRODUCED_TYPES, FAILURE_ONLY_TYPES), readProblems: problems };
}

/** The operator's rule files (SHERLOCK_FALCO_RULES): every one that applies, and every one a request may name. */
export function checkOperatorRules(paths: readonly string[]): { problems: string[]; summary: string } {
  const operator = operatorRules(paths);
  const all = [...new Set([...operator.always, ...operator.named.values()])];
  const problems = [...operator.problems];
  // Files that always apply load together; each named one loads after them, as a request would add it.
  const base = checkRuleFiles(operator.always);
  problems.push(...base.readProblems, ...base.loaded.errors.map(problemText));
  for (const path of all.filter((p) => !operator.always.includes(p))) {
    const one = checkRuleFiles([...operator.always, path]);
    problems.push(...one.readProblems, ...one.loaded.errors.filter((e) => e.file === path).map(problemText));
  }
  const loaded = base.loaded.statuses.filter((s) => s.state === 'loaded').length;
  const disabled = base.loaded.statuses.filter((s) => s.state === 'disabled').length;
  const named = [...operator.named.keys()].filter((n) => !operator.always.some((p) => operator.named.get(n) === p));
  return {
    problems,
    summary: `${operator.always.length} file(s) for every run (${loaded} rules loaded, ${disabled} disabled)${named.length ? `; on request: ${named.join(', ')}` : ''}`,
  };
}
