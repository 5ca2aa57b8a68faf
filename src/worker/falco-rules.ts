// The worker's Falco rules for one node of a run: the files the run names
// and the operator's (SHERLOCK_FALCO_RULES), loaded once per set of file
// versions. A node job starts a session before its captures (matching as
// their records stream in); runFalcoRules matches stored results after the
// fact, where no session could be started.
import { hostname } from 'node:os';
import { analyzeNodeWithRules, type FalcoNodeResult } from '../falco/analyze-node.js';
import { liveHostInfo } from '../falco/host-info.js';
import { loadRules, type LoadedRules } from '../falco/load-rules.js';
import type { FalcoAlert } from '../falco/matcher.js';
import { NodeRuleSession } from '../falco/node-session.js';
import { filesKey, operatorRules, readRuleFiles, runRulePaths } from '../falco/rule-sources.js';
import { EVENT_SOURCES, FAILURE_ONLY_TYPES, PRODUCED_TYPES } from '../falco/sources/index.js';
import { defaultRunbooksDir } from '../runbooks/catalog.js';
import type { StoredResult } from '../runs/node-analysis.js';
import type { RunRecord } from '../model/run.js';

export interface FalcoSettings {
  /** Operator rule files and directories (SHERLOCK_FALCO_RULES, --falco-rules). */
  operatorPaths: string[];
  runbooksDir?: string;
}

export interface FalcoStart {
  session: NodeRuleSession;
  /** Files that could not be read, for the node's summary. */
  problems: string[];
}

let cached: { key: string; loaded: LoadedRules; problems: string[] } | undefined;

function loadCached(paths: string[]): { loaded: LoadedRules; problems: string[] } {
  const key = filesKey(paths);
  if (cached?.key === key) return cached;
  const { files, problems } = readRuleFiles(paths);
  cached = { key, loaded: loadRules(files, PRODUCED_TYPES, FAILURE_ONLY_TYPES), problems };
  return cached;
}

/** The run's rules, loaded; undefined when it has none or none of its captures make events for them. */
function runRules(run: RunRecord, captures: readonly string[], settings: FalcoSettings): { loaded: LoadedRules; problems: string[] } | undefined {
  if (!captures.some((c) => EVENT_SOURCES[c])) return undefined;
  const operator = operatorRules(settings.operatorPaths);
  const { paths, problems } = runRulePaths(run.plan.falco, settings.runbooksDir ?? defaultRunbooksDir(), operator);
  if (!paths.length && !problems.length) return undefined;
  const { loaded, problems: readProblems } = loadCached(paths);
  return { loaded, problems: [...problems, ...readProblems] };
}

/** A session for the node's captures (the run's steps), each alert handed to onAlert as it is made. */
export function startFalcoSession(
  run: RunRecord,
  node: string,
  captures: readonly string[],
  settings: FalcoSettings,
  onAlert: (alert: FalcoAlert) => void,
): FalcoStart | undefined {
  const rules = runRules(run, captures, settings);
  if (!rules) return undefined;
  return { session: new NodeRuleSession(rules.loaded, node, liveHostInfo(hostname()), captures, { onAlert }), problems: rules.problems };
}

/** The node's Falco findings, alerts and rule summary from stored results; undefined when the run has no rules or no events for them. */
export function runFalcoRules(run: RunRecord, node: string, stored: StoredResult[], settings: FalcoSettings): FalcoNodeResult | undefined {
  const rules = runRules(
    run,
    stored.map((s) => s.result.capture),
    settings,
  );
  if (!rules) return undefined;
  return analyzeNodeWithRules(
    rules.loaded,
    stored.map((s) => s.result),
    node,
    liveHostInfo(hostname()),
    rules.problems,
  );
}
