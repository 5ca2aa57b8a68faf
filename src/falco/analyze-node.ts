// One node's run through its Falco rules: the node's capture results become
// events, the rules that can see them are matched, and what came out is
// findings, Falco JSON alerts (for nodes/<node>/falco-alerts.json) and a
// summary of every rule's state for the manifest.
export type { FalcoNodeSummary, FalcoRuleState } from '../model/falco.js';
import type { FalcoNodeSummary, FalcoRuleState } from '../model/falco.js';
import type { Finding } from '../model/findings.js';
import type { HostInfo } from './host-info.js';
import type { LoadedRules } from './load-rules.js';
import { matchEvents, type FalcoAlert } from './matcher.js';
import { ALERTS_FILE, ruleFindings } from './findings.js';
import { nodeEvents } from './node-events.js';
import { problemText } from './rule-file.js';
import { capturesFor, EVENT_SOURCES } from './sources/index.js';

/** Findings kept per node (one per rule that matched; the alerts file has every match). */
export const MAX_FINDINGS = 200;

/** Rules listed by name in the summary (disabled and in error); the rest are counted. */
export const MAX_LISTED_RULES = 500;

export interface FalcoNodeResult {
  findings: Finding[];
  alerts: FalcoAlert[];
  summary: FalcoNodeSummary;
}

export function analyzeNodeWithRules(
  loaded: LoadedRules,
  results: readonly unknown[],
  node: string,
  host: HostInfo,
  extraProblems: string[] = [],
): FalcoNodeResult {
  const { events, captures } = nodeEvents(results);
  const runTypes = new Set(captures.flatMap((c) => EVENT_SOURCES[c]?.types ?? []));
  // A rule whose event types this run did not capture is not matched, and says which capture it needs.
  const needs = new Map<string, string>();
  const rules = loaded.rules.filter((r) => {
    if (!r.eventTypes || [...r.eventTypes].some((t) => runTypes.has(t))) return true;
    needs.set(r.def.name, `this run did not capture its events (${[...r.eventTypes].sort().join(', ')}: ${capturesFor(r.eventTypes).join(' or ')})`);
    return false;
  });
  const matcher = matchEvents({ ...loaded, rules }, events, host);
  const states: FalcoRuleState[] = loaded.statuses.map((s) => {
    const reason = s.reason ?? needs.get(s.rule);
    return { rule: s.rule, file: s.file, state: s.state === 'loaded' && needs.has(s.rule) ? 'disabled' : s.state, ...(reason ? { reason } : {}) };
  });
  const matches = [...matcher.hits.values()].reduce((n, h) => n + h.count, 0);
  const findings = ruleFindings(matcher, node).slice(0, MAX_FINDINGS);
  return {
    findings,
    alerts: matcher.alerts,
    summary: {
      files: loaded.files,
      loaded: states.filter((s) => s.state === 'loaded').length,
      notLoaded: states.filter((s) => s.state !== 'loaded').slice(0, MAX_LISTED_RULES),
      errors: [...extraProblems, ...loaded.errors.map(problemText)],
      events: events.length,
      matches,
      alerts: matcher.alerts.length,
      alertsDropped: matcher.alertsDropped,
      ...(matcher.alerts.length ? { alertsFile: ALERTS_FILE } : {}),
      findings,
    },
  };
}
