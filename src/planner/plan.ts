// From a valid request to a plan: capture settings checked against each
// capture's own schema, and the target nodes chosen among the live ones.
import { z } from 'zod';
import { own } from '../util/own.js';
import { captures } from '../captures/registry.js';
import type { NodeInfo } from '../nodes/registry.js';
import type { RunbookSource } from '../runbooks/catalog.js';
import { expandRunbook } from '../runbooks/expand.js';
import { Conflict, Invalid } from '../model/errors.js';
import type { RunPlan } from '../model/run.js';
import { DEFAULT_RUN_DURATION_MS, MAX_RUN_DURATION_MS } from '../model/limits.js';
import type { RunRequest } from './run-request.js';
import { paramsSchema } from '../captures/params-schema.js';

/** A runbook run takes its steps, window, target, params, thresholds and rules from the runbook (`runbooks`). */
/** The operator's bounds on a run's BPF CPU budget (config file, `load`). */
export interface CpuBudgetLimits {
  cpuBudgetPercent: number;
  maxCpuBudgetPercent: number;
}

export function planRun(request: RunRequest, live: NodeInfo[], runbooks?: RunbookSource, limits?: CpuBudgetLimits): RunPlan {
  const plan = planSteps(request, live, runbooks);
  if (!limits) return plan;
  // The run's own budget must be within the operator's maximum; a runbook's is capped by it.
  if (request.cpuBudget !== undefined && request.cpuBudget > limits.maxCpuBudgetPercent) {
    throw new Invalid(
      'cpu_budget_over_limit',
      `cpuBudget ${request.cpuBudget}% exceeds this server's maximum of ${limits.maxCpuBudgetPercent}% of one CPU (load.maxCpuBudgetPercent)`,
      {
        cpuBudget: request.cpuBudget,
        maxCpuBudgetPercent: limits.maxCpuBudgetPercent,
      },
    );
  }
  const budget = request.cpuBudget ?? Math.min(plan.cpuBudgetPercent ?? limits.cpuBudgetPercent, limits.maxCpuBudgetPercent);
  return { ...plan, cpuBudgetPercent: budget };
}

function planSteps(request: RunRequest, live: NodeInfo[], runbooks?: RunbookSource): RunPlan {
  const open = request.untilStopped ? { untilStopped: true } : {};
  if (request.runbook) {
    // An open window lasts at most the runbook's limit.
    const limit = request.untilStopped ? (runbooks?.get(request.runbook)?.limits.maxDuration ?? MAX_RUN_DURATION_MS) : undefined;
    // Throws Invalid or NotFound (src/model/errors.ts) for a request the runbook refuses.
    const expanded = expandRunbook(runbooks, {
      runbook: request.runbook,
      params: request.params,
      duration: limit ?? request.duration,
      target: request.target,
      ...(request.falcoRules ? { falcoRules: request.falcoRules } : {}),
    });
    const { durationMs, target, ...rest } = expanded;
    return { ...rest, durationMs, ...open, target, nodes: chooseNodes(request.targets, live), ...(request.reason ? { reason: request.reason } : {}) };
  }
  const steps = (request.steps ?? []).map((step, index) => {
    const def = captures.get(step.capture)!;
    const parsed = paramsSchema(def).safeParse(step.params);
    if (!parsed.success) {
      throw new Invalid('invalid_params', `steps[${index}] (${step.capture}): ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`, parsed.error.issues);
    }
    return { capture: step.capture, params: parsed.data as Record<string, unknown> };
  });
  return {
    steps,
    durationMs: request.untilStopped ? MAX_RUN_DURATION_MS : (request.duration ?? DEFAULT_RUN_DURATION_MS),
    ...open,
    target: request.target,
    nodes: chooseNodes(request.targets, live),
    ...(request.reason ? { reason: request.reason } : {}),
    ...(request.falcoRules?.length ? { falco: { requested: request.falcoRules } } : {}),
  };
}

function chooseNodes(targets: RunRequest['targets'], live: NodeInfo[]): string[] {
  const liveNames = live.map((n) => n.name);
  // Only a refusal lists them (a fleet's names are long to join on every request).
  const available = () => (liveNames.length ? liveNames.join(', ') : 'none');
  let chosen: string[];
  if (targets.nodes) {
    const isLive = new Set(liveNames);
    const missing = targets.nodes.filter((n) => !isLive.has(n));
    if (missing.length) {
      throw new Conflict('node_not_live', `node ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not live; live nodes: ${available()}`);
    }
    chosen = [...new Set(targets.nodes)];
  } else if (targets.labels) {
    const wanted = Object.entries(targets.labels);
    chosen = live.filter((n) => wanted.every(([k, v]) => own(n.labels, k) === v)).map((n) => n.name);
  } else {
    chosen = liveNames;
  }
  if (!chosen.length) throw new Conflict('no_live_node', `no live node matches the targets; live nodes: ${available()}`);
  return chosen;
}
