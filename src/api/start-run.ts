// Starting a run, whoever asks: the REST API, a chat command, an incident
// webhook or a schedule. One path, so every trigger is validated, planned,
// queued and audited the same way.
import { liveNodes } from '../nodes/registry.js';
import { PlanError, planRun } from '../planner/plan.js';
import { runRequestSchema } from '../planner/run-request.js';
import type { RunRecord } from '../runs/types.js';
import { audit } from './audit.js';
import type { ApiDeps } from './context.js';
import { ApiError, validationError } from './errors.js';

export interface RunStarter {
  /** Who asked, as the run and the audit log record it ("admin", "slack:U123 in #ops"). */
  actor: string;
  /** The alert, the chat channel, the schedule: kept in the run's plan (so its report links back) and the audit. */
  origin?: Record<string, unknown>;
}

/** Validates `body` as a run request, plans it on the live nodes, queues it and audits it. */
export async function startRun(deps: ApiDeps, body: unknown, starter: RunStarter): Promise<RunRecord> {
  const parsed = runRequestSchema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error);
  let plan;
  try {
    plan = planRun(parsed.data, await liveNodes(deps.redis), deps.runbooks);
  } catch (err) {
    if (err instanceof PlanError) throw new ApiError(err.status, err.code, err.message, err.details);
    throw err;
  }
  const run = await deps.submitter.submit(starter.origin ? { ...plan, origin: starter.origin } : plan, starter.actor);
  await audit(deps.redis, {
    actor: starter.actor,
    action: 'run.create',
    subject: run.id,
    details: {
      nodes: plan.nodes,
      steps: plan.steps.map((s) => s.capture),
      ...(plan.runbook ? { runbook: plan.runbook, params: plan.params } : {}),
      ...(starter.origin ? { origin: starter.origin } : {}),
    },
  });
  return run;
}
