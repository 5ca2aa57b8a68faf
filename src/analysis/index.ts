// The analysis kit the captures' analyzers share (thresholds, rules, types);
// analyzeRun, which runs them all, is in src/runs/analyze-run.ts.
export { DEFAULT_THRESHOLDS, mergeThresholds } from './common.js';
export { ruleSchema, type Rule, type RuleInput } from './rules.js';
export type { Finding, Severity, Thresholds } from './types.js';
