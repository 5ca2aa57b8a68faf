// A run as the API shows it: what was asked, where, and how each node fared.
// Value types only: every layer that handles runs looks down to them.
import type { Thresholds } from './findings.js';
import type { Rule } from './rule.js';
import type { TargetSpec } from './target.js';

export const RUN_STATUSES = ['queued', 'running', 'completed', 'partial', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'partial', 'failed', 'cancelled']);

export type NodeStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const FINAL_NODE_STATUSES: ReadonlySet<NodeStatus> = new Set(['completed', 'failed', 'cancelled']);

export interface RunStep {
  capture: string;
  params: Record<string, unknown>;
}

/** What a run does on every node: validated, defaults applied. */
export interface RunPlan {
  runbook?: string;
  /** The runbook's title, for people (set with runbook). */
  runbookTitle?: string;
  /** The runbook's params as checked: given values and defaults, typed (durations in ms). */
  params?: Record<string, unknown>;
  /** The runbook's threshold overrides for its findings. */
  thresholds?: Thresholds;
  /** The runbook's rules (suspicious-activity), params filled in. */
  rules?: Rule[];
  steps: RunStep[];
  durationMs: number;
  target: TargetSpec;
  nodes: string[];
  reason?: string;
  /** Where the run came from, besides who asked: the alert (tool, id, url), the chat command, the schedule. */
  origin?: Record<string, unknown>;
}

export interface CaptureSummary {
  capture: string;
  kind: string;
  /** Events or rows in the stored result. */
  count: number;
  dropped: number;
  bpfCpuNs: number;
  durationMs: number;
  cancelled: boolean;
  /** Name of the stored artifact (GET /v1/runs/:id/nodes/:node/artifacts/:name). */
  artifact?: string;
  bytes?: number;
  /** Raw files stored beside it (flame graph, pprof, ndjson), same route. */
  files?: string[];
  error?: string;
  /** The host lacks what the capture needs (a tracepoint, a cgroup file): `error` says what; the run went on without it. */
  skipped?: boolean;
}

export interface NodeState {
  status: NodeStatus;
  /** Kernel release the worker ran the captures on (uname -r), recorded when it starts. */
  kernel?: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  captures?: CaptureSummary[];
}

export interface RunRecord {
  id: string;
  status: RunStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  requestedBy: string;
  plan: RunPlan;
  nodes: Record<string, NodeState>;
}

/** The job data a node worker receives. */
export interface NodeJobData {
  runId: string;
  node: string;
  steps: RunStep[];
  durationMs: number;
  target: TargetSpec;
}
