// What a node's Falco rules did, as a node's state and the manifest keep it
// (made by src/falco/analyze-node.ts on the worker).
import type { Finding } from './findings.js';

export interface FalcoRuleState {
  rule: string;
  file: string;
  state: 'loaded' | 'disabled' | 'error';
  reason?: string;
}

export interface FalcoNodeSummary {
  files: string[];
  /** Rules matched against this node's events. */
  loaded: number;
  /** Rules not matched, each with why (a field Sherlock cannot fill, enabled: false, an error, events not captured). */
  notLoaded: FalcoRuleState[];
  /** Problems with files, lists, macros and rules (file:line: item: message). */
  errors: string[];
  events: number;
  matches: number;
  alerts: number;
  /** Alerts past the cap: counted in matches, not in the file. */
  alertsDropped: number;
  alertsFile?: string;
  /** One per rule that matched (finalize merges them into the run's findings). */
  findings: Finding[];
}
