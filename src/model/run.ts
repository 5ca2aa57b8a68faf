// A run as the API shows it: what was asked, where, and how each node fared.
// Value types only: every layer that handles runs looks down to them.
import type { Symptom, Thresholds } from './findings.js';
import type { Rule } from './rule.js';
import type { TargetSpec } from './target.js';
import type { FalcoNodeSummary } from './falco.js';

export const RUN_STATUSES = ['queued', 'running', 'completed', 'partial', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'partial', 'failed', 'cancelled']);

/**
 * The abort reason a worker gives a node job that was stopped (ended early on
 * purpose, the run completes with what was captured), as opposed to cancelled.
 */
export const STOP_REASON = 'stopped through the API';

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
  /** What the runbook is about; findings are ranked by their impact on it (ad-hoc runs: health, all alike). */
  symptom?: Symptom;
  /** Falco rule files: the runbook's (under the runbooks directory) and operator files the request named. */
  falco?: { files?: string[]; requested?: string[] };
  steps: RunStep[];
  durationMs: number;
  /** The window runs until someone stops the run (POST /v1/runs/:id/stop); durationMs is then its limit. */
  untilStopped?: boolean;
  target: TargetSpec;
  nodes: string[];
  reason?: string;
  /** Each capture's BPF CPU budget, percent of one CPU (the run's, else its runbook's, else the server default). */
  cpuBudgetPercent?: number;
  /** Where the run came from, besides who asked: the alert (tool, id, url), the chat command, the schedule. */
  origin?: Record<string, unknown>;
}

/** Why a capture was detached before its window ended (and the run went on without it). */
export interface CaptureStop {
  reason: 'cpu-budget';
  /** What its programs cost over the last sample, in percent of one CPU. */
  cpuPercent: number;
  budgetPercent: number;
  /** Time from attach to detach. */
  afterMs: number;
  message: string;
}

/** A capture that stopped keeping events at a budget: what it kept, what it dropped, why. */
export interface CaptureTruncation {
  /**
   * `event-cap`: the capture's maxEvents; `spool-budget`: its share of load.workerEventSpoolMiB (a worker's
   * run, events on disk); `memory-budget`: the in-memory budget a direct runCapture caller set.
   */
  reason: 'event-cap' | 'spool-budget' | 'memory-budget';
  keptEvents: number;
  /** Events seen past the budget and dropped (counted, not decoded). */
  droppedEvents: number;
  /** The budget: events for event-cap, bytes for spool-budget and memory-budget. */
  limit: number;
  message: string;
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
  /** Set when the capture was detached early for a budget (its data up to then is kept). */
  stopped?: CaptureStop;
  /** Stopped keeping events at a budget (the run went on with what it kept). */
  truncated?: CaptureTruncation;
  /** Secrets hidden from the result before it was stored (src/redact). */
  redactions?: number;
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
  /** What its Falco rules did: rules loaded, those not (with why), matches, the alerts file. */
  falco?: FalcoNodeSummary;
  /** What Sherlock itself cost on this node during the run (its own processes are left out of the captures). */
  sherlock?: SherlockCost;
}

/** Sherlock's own share of a node while its captures ran. */
export interface SherlockCost {
  /** Its cgroup, left out of host-wide captures; absent when it could not make one. */
  cgroup?: string;
  /** CPU time of everything in that cgroup (worker, API, embedded Redis, their children), else of the worker process alone. */
  cpuMs: number;
  /** What cpuMs covers: "cgroup" or "worker process". */
  cpuScope: 'cgroup' | 'worker process';
  /** Wall time the measurement covers (the capture window plus storing results). */
  wallMs: number;
  /** The kernel's own count of time in Sherlock's BPF programs, all captures summed. */
  bpfCpuMs: number;
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
  /** Each capture's BPF CPU budget, percent of one CPU; DEFAULT_CPU_BUDGET_PERCENT when absent. */
  cpuBudgetPercent?: number;
}
