// A run's numbers beside its nodes' latest scheduled baselines, as stored
// with the run and shown by the API and the report (src/baselines computes it).
import type { BaselineMetric, Severity } from './findings.js';

export interface BaselineRow {
  node: string;
  metric: string;
  capture: string;
  unit: BaselineMetric['unit'];
  /** Display text: "2.1 ms", "4%", or "none". */
  baseline: string;
  now: string;
  /** "×101", "+34 pts", "new", "gone". */
  change: string;
  baselineValue?: number;
  nowValue?: number;
  baselineAt: string;
  baselineRunId: string;
  baselineRunbook: string;
  /** How bad the regression is, when the run is clearly worse than the baseline (severityOf). */
  regression?: Severity;
}

export interface BaselineComparison {
  runId: string;
  target: string;
  rows: BaselineRow[];
  /** Nodes with no baseline for this runbook (or health-check) and target. */
  missing: string[];
}
