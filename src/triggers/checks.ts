// What the trigger settings name must exist in the runbook catalog: a typo in
// a hook rule or a chat alias is found at start, not at 3 a.m. when the alert
// fires and every run fails.
import type { RunbookSource } from '../runbooks/catalog.js';
import { checkParam } from '../runbooks/params.js';
import type { HooksConfig } from './hooks/config.js';
import type { AllowRule } from './chatops/config.js';
import { closestName } from '../util/closest-name.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { problem, type FieldPath } from '../config/zod-text.js';

/** Where a value came from: the file or env var a problem names, and the value's path in it. */
export interface Origin {
  where: string;
  path: FieldPath;
}

const at = (origin: Origin, path: FieldPath, message: string) => problem(origin.where, [...origin.path, ...path], message);

/** 'no runbook "hgih-cpu" (did you mean "high-cpu"? known: disk-io, high-cpu)' */
export function unknownRunbook(name: string, runbooks: RunbookSource): string {
  const known = runbooks.names();
  const near = closestName(name, known);
  return `no runbook "${name}" (${near ? `did you mean "${near}"? ` : ''}known: ${known.join(', ') || 'none loaded'})`;
}

const TEMPLATE = /\$\{/;

export function checkHookRules(config: HooksConfig, origin: Origin, runbooks: RunbookSource): string[] {
  const problems: string[] = [];
  config.rules.forEach((rule, i) => {
    const here = (path: FieldPath, message: string) => problems.push(at(origin, ['rules', i, ...path], message));
    const runbook = runbooks.get(rule.runbook);
    if (!runbook) {
      here(['runbook'], unknownRunbook(rule.runbook, runbooks));
      return;
    }
    const declared = Object.keys(runbook.params);
    for (const [name, value] of Object.entries(rule.params)) {
      const spec = runbook.params[name];
      if (!spec) {
        here(['params', name], `runbook ${runbook.name} has no param "${name}" (its params: ${declared.join(', ') || 'none'})`);
        continue;
      }
      if (typeof value === 'string' && TEMPLATE.test(value)) continue; // filled from the alert: checked per run
      const checked = checkParam(spec, value);
      if ('error' in checked) here(['params', name], checked.error);
    }
    for (const [name, spec] of Object.entries(runbook.params)) {
      if (spec.required && spec.default === undefined && !(name in rule.params)) {
        here(['params'], `runbook ${runbook.name} requires param "${name}"; give it here (from the alert, e.g. "\${labels.${name}}")`);
      }
    }
    if (rule.duration !== undefined) {
      const ms = typeof rule.duration === 'number' ? rule.duration : parseDuration(rule.duration);
      const max = runbook.limits.maxDuration;
      if (ms === undefined) here(['duration'], `"${rule.duration}" is not a duration (write 30s, 2m or milliseconds)`);
      else if (ms < 1000 || ms > max) here(['duration'], `${formatDuration(ms)} is outside 1s..${formatDuration(max)} (runbook ${runbook.name}'s maxDuration)`);
    }
  });
  return problems;
}

export function checkAliases(aliases: Record<string, string>, origin: Origin, runbooks: RunbookSource): string[] {
  return Object.entries(aliases).flatMap(([alias, runbook]) => (runbooks.get(runbook) ? [] : [at(origin, [alias], unknownRunbook(runbook, runbooks))]));
}

export function checkAllow(allow: Record<string, AllowRule>, origin: Origin, runbooks: RunbookSource): string[] {
  return Object.keys(allow).flatMap((runbook) => (runbooks.get(runbook) ? [] : [at(origin, [runbook], unknownRunbook(runbook, runbooks))]));
}
