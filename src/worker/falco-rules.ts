// The worker's Falco rules for one node of a run: the files the run names
// and the operator's (SHERLOCK_FALCO_RULES), loaded once per set of file
// versions, matched against the node's results while they are in memory.
import { hostname } from 'node:os';
import { analyzeNodeWithRules, type FalcoNodeResult } from '../falco/analyze-node.js';
import { liveHostInfo } from '../falco/host-info.js';
import { loadRules, type LoadedRules } from '../falco/load-rules.js';
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

let cached: { key: string; loaded: LoadedRules; problems: string[] } | undefined;

function loadCached(paths: string[]): { loaded: LoadedRules; problems: string[] } {
  const key = filesKey(paths);
  if (cached?.key === key) return cached;
  const { files, problems } = readRuleFiles(paths);
  cached = { key, loaded: loadRules(files, PRODUCED_TYPES, FAILURE_ONLY_TYPES), problems };
  return cached;
}

/** The node's Falco findings, alerts and rule summary; undefined when the run has no rules or no events for them. */
export function runFalcoRules(run: RunRecord, node: string, stored: StoredResult[], settings: FalcoSettings): FalcoNodeResult | undefined {
  if (!stored.some((s) => EVENT_SOURCES[s.result.capture])) return undefined;
  const spec = run.plan.falco;
  const operator = operatorRules(settings.operatorPaths);
  const { paths, problems } = runRulePaths(spec, settings.runbooksDir ?? defaultRunbooksDir(), operator);
  if (!paths.length && !problems.length) return undefined;
  const { loaded, problems: readProblems } = loadCached(paths);
  return analyzeNodeWithRules(
    loaded,
    stored.map((s) => s.result),
    node,
    liveHostInfo(hostname()),
    [...problems, ...readProblems],
  );
}
