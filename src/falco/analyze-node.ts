// One node's run through its Falco rules after the fact: every capture
// result read at the end (what a worker does when nothing streamed, and what
// tests and `sherlock capture` use). The worker streams instead
// (node-session.ts); both end in the same findings, alerts and summary.
export type { FalcoNodeSummary, FalcoRuleState } from '../model/falco.js';
import type { HostInfo } from './host-info.js';
import type { LoadedRules } from './load-rules.js';
import { NodeRuleSession, type FalcoNodeResult } from './node-session.js';

export { MAX_FINDINGS, MAX_LISTED_RULES, type FalcoNodeResult } from './node-session.js';

export function analyzeNodeWithRules(
  loaded: LoadedRules,
  results: readonly unknown[],
  node: string,
  host: HostInfo,
  extraProblems: string[] = [],
): FalcoNodeResult {
  const captures = results.flatMap((r) =>
    typeof r === 'object' && r !== null && typeof (r as { capture?: unknown }).capture === 'string' ? [(r as { capture: string }).capture] : [],
  );
  return new NodeRuleSession(loaded, node, host, captures).finish(results, extraProblems);
}
