// From a valid request to a plan: capture settings checked against each
// capture's own schema, and the target nodes chosen among the live ones.
import { z } from 'zod';
import { own } from '../util/own.js';
import { captures } from '../captures/registry.js';
import type { NodeInfo } from '../nodes/registry.js';
import type { RunbookSource } from '../runbooks/catalog.js';
import { expandRunbook, RunbookRequestError } from '../runbooks/expand.js';
import type { RunPlan } from '../runs/types.js';
import { DEFAULT_RUN_DURATION_MS, type RunRequest } from './run-request.js';

/** A request that cannot run; `status` is the HTTP status it maps to. */
export class PlanError extends Error {
  override name = 'PlanError';
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** A runbook run takes its steps, window, target, params, thresholds and rules from the runbook (`runbooks`). */
export function planRun(request: RunRequest, live: NodeInfo[], runbooks?: RunbookSource): RunPlan {
  if (request.runbook) {
    let expanded;
    try {
      expanded = expandRunbook(runbooks, { runbook: request.runbook, params: request.params, duration: request.duration, target: request.target });
    } catch (err) {
      if (err instanceof RunbookRequestError) throw new PlanError(err.status, err.code, err.message, err.details);
      throw err;
    }
    const { durationMs, target, ...rest } = expanded;
    return { ...rest, durationMs, target, nodes: chooseNodes(request.targets, live), ...(request.reason ? { reason: request.reason } : {}) };
  }
  const steps = (request.steps ?? []).map((step, index) => {
    const def = captures.get(step.capture)!;
    const parsed = def.params.safeParse(step.params);
    if (!parsed.success) {
      throw new PlanError(400, 'invalid_params', `steps[${index}] (${step.capture}): ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`, parsed.error.issues);
    }
    return { capture: step.capture, params: parsed.data as Record<string, unknown> };
  });
  return {
    steps,
    durationMs: request.duration ?? DEFAULT_RUN_DURATION_MS,
    target: request.target,
    nodes: chooseNodes(request.targets, live),
    ...(request.reason ? { reason: request.reason } : {}),
  };
}

function chooseNodes(targets: RunRequest['targets'], live: NodeInfo[]): string[] {
  const liveNames = live.map((n) => n.name);
  const available = liveNames.length ? liveNames.join(', ') : 'none';
  let chosen: string[];
  if (targets.nodes) {
    const missing = targets.nodes.filter((n) => !liveNames.includes(n));
    if (missing.length) {
      throw new PlanError(409, 'node_not_live', `node ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not live; live nodes: ${available}`);
    }
    chosen = [...new Set(targets.nodes)];
  } else if (targets.labels) {
    const wanted = Object.entries(targets.labels);
    chosen = live.filter((n) => wanted.every(([k, v]) => own(n.labels, k) === v)).map((n) => n.name);
  } else {
    chosen = liveNames;
  }
  if (!chosen.length) throw new PlanError(409, 'no_live_node', `no live node matches the targets; live nodes: ${available}`);
  return chosen;
}
