// `sherlock run --status ID` and `--cancel ID`, and what is printed right
// after a submit without --wait.
import { FINAL_STATUSES } from '../../model/run.js';
import { formatDuration } from '../../util/duration.js';
import type { ApiClient } from '../api-client.js';
import { describeTarget } from '../../format/index.js';
import { captureTable, nodeLines } from './outcome.js';
import { apiFlag, type Submitted } from './view.js';

export async function statusCommand(client: ApiClient, id: string, base: string): Promise<number> {
  const run = await client.call('getRun', { path: { id } });
  const plan = run.plan;
  const what = plan.runbook ? `runbook ${plan.runbook}` : `steps ${plan.steps.map((s) => s.capture).join(', ')}`;
  const lines = [
    `run ${run.id}  ${run.status}`,
    `  ${what}, ${formatDuration(plan.durationMs)} on ${describeTarget(plan.target)}${plan.reason ? ` (${plan.reason})` : ''}`,
    `  asked by ${run.requestedBy} at ${run.createdAt}${run.startedAt ? `, started ${run.startedAt}` : ''}${run.finishedAt ? `, ended ${run.finishedAt} (${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.createdAt))})` : ''}`,
    `  nodes (${Object.keys(run.nodes).length}):`,
    ...nodeLines(run),
  ];
  if (Object.values(run.nodes).some((n) => n.captures?.length)) lines.push('', captureTable(run));
  if (FINAL_STATUSES.has(run.status)) {
    lines.push('', `findings: ${base}/v1/runs/${run.id}/findings`, `report:   ${base}/v1/runs/${run.id}/report`);
  } else {
    lines.push('', `cancel: sherlock run --cancel ${run.id}${apiFlag(base)}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

export async function cancelCommand(client: ApiClient, id: string, base: string): Promise<number> {
  const reply = await client.call('cancelRun', { path: { id } });
  process.stdout.write(`cancel requested for run ${id} (status now ${reply.status}); its nodes detach and keep what they captured\n`);
  process.stdout.write(`  status: sherlock run --status ${id}${apiFlag(base)}\n`);
  return 0;
}

export function printSubmitted(run: Submitted, base: string): void {
  const url = (path: string) => base + path;
  process.stdout.write(
    [
      `run ${run.id} ${run.status} on ${run.nodes.length} node${run.nodes.length === 1 ? '' : 's'}: ${run.nodes.join(', ')}`,
      `  status: sherlock run --status ${run.id}${apiFlag(base)}   (${url(run.links.self ?? `/v1/runs/${run.id}`)})`,
      `  events: ${url(run.links.events ?? `/v1/runs/${run.id}/events`)}`,
      `  report: ${url(`/v1/runs/${run.id}/report`)}   (once it has ended)`,
      `  cancel: sherlock run --cancel ${run.id}${apiFlag(base)}`,
    ].join('\n') + '\n',
  );
}

export function cancelHint(id: string, base: string): string {
  return [
    `the run goes on; to cancel it: sherlock run --cancel ${id}${apiFlag(base)}`,
    `  or: curl -X DELETE -H "Authorization: Bearer $SHERLOCK_TOKEN" ${base}/v1/runs/${id}`,
    `  its status: sherlock run --status ${id}${apiFlag(base)}`,
  ].join('\n');
}
