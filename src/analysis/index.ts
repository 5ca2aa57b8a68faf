// Findings from capture results: analyzeRun is the entry point.
export { analyzeRun, sortFindings, type AnalyzeInput, type NodeResult } from './analyze.js';
export { DEFAULT_THRESHOLDS, mergeThresholds } from './common.js';
export { ruleSchema, type Rule, type RuleInput } from './rules.js';
export type { Finding, Severity, Thresholds } from './types.js';
