// Follows a chat-started run from the API process and posts its progress to
// the command's response_url (the poster's budget: at most 5 posts in all),
// the last with the top findings and links to the report. Stops, posting
// nothing more, when its signal aborts (API shutdown).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Finding } from '../../model/findings.js';
import { signReportLink, type ReportLinkSettings } from '../../core/report-links.js';
import type { RunService } from '../../core/runs.js';
import { FINAL_STATUSES, type RunRecord } from '../../model/run.js';
import { createLogger } from '../../util/logger.js';
import { unlessAborted } from './ack-budget.js';
import type { ResponsePoster } from './response-poster.js';

const log = createLogger({ component: 'chatops' });

export const POLL_MS = 500;
const GRACE_MS = 60_000;

export interface FollowOptions {
  runs: Pick<RunService, 'find' | 'storedFindings'>;
  runId: string;
  links: ReportLinker;
  durationMs: number;
  poster: ResponsePoster;
  /** Aborted when the API stops: the follower returns at once. */
  signal: AbortSignal;
}

/** The report's page and bundle URLs for run `runId`, as chat shows them. */
export type ReportLinker = (runId: string) => { html: string; json: string };

/**
 * Signed, expiring links a person can open without a token (/v1/links), when a
 * key is configured; else the API's own routes, which need a bearer header.
 */
export function reportLinker(baseUrl: string, signed?: ReportLinkSettings, now: () => number = Date.now): ReportLinker {
  if (!signed) return (runId) => ({ html: `${baseUrl}/v1/runs/${runId}/report.html`, json: `${baseUrl}/v1/runs/${runId}/report` });
  return (runId) => {
    const query = new URLSearchParams({ ...signReportLink(signed, runId, now()) });
    return { html: `${baseUrl}/v1/links/${runId}/report.html?${query}`, json: `${baseUrl}/v1/links/${runId}/report?${query}` };
  };
}

const severityRank = { critical: 0, warning: 1, info: 2 } as const;

export function finalText(run: RunRecord, findings: Finding[] | undefined, linker: ReportLinker): string {
  const links = linker(run.id);
  const top = [...(findings ?? [])].sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || b.score - a.score).slice(0, 3);
  const lines = [`Run ${run.id} (${run.plan.runbook ?? 'ad-hoc'}) finished: *${run.status}* on ${Object.keys(run.nodes).length} node(s).`];
  const failed = Object.entries(run.nodes).filter(([, s]) => s.status === 'failed');
  for (const [node, s] of failed.slice(0, 3)) lines.push(`• ${node} failed: ${s.error ?? 'unknown error'}`);
  if (top.length) {
    lines.push(`Top findings (${findings!.length} in all):`);
    for (const f of top) lines.push(`• [${f.severity}] ${f.node}: ${f.title}`);
  } else {
    lines.push('No findings over their thresholds.');
  }
  lines.push(`Report: ${links.html} (JSON: ${links.json})`);
  return lines.join('\n');
}

/** Resolves when the run ended, the bound passed or the signal aborted; never rejects. */
export async function followRun(options: FollowOptions): Promise<void> {
  const { runs, runId, poster, signal } = options;
  const say = (text: string, final = true) => poster.send({ response_type: 'in_channel', text }, { final });
  const deadline = Date.now() + options.durationMs + GRACE_MS;
  const maxPolls = Math.ceil((options.durationMs + GRACE_MS) / POLL_MS) + 10;
  let announcedRunning = false;
  try {
    for (let i = 0; i < maxPolls && Date.now() < deadline; i++) {
      // A read stuck on a slow Redis must not hold the shutdown: stop waiting for it.
      const run = await unlessAborted(runs.find(runId), signal);
      if (signal.aborted) return;
      if (!run) return void (await say(`Run ${runId} is gone (expired or removed).`));
      if (FINAL_STATUSES.has(run.status)) {
        const findings = await unlessAborted(runs.storedFindings(run.id), signal);
        if (signal.aborted) return;
        return void (await say(finalText(run, findings, options.links)));
      }
      if (!announcedRunning && run.status === 'running') {
        announcedRunning = true;
        const running = Object.values(run.nodes).filter((s) => s.status === 'running').length;
        await say(`Run ${run.id} is running on ${running} of ${Object.keys(run.nodes).length} node(s).`, false);
      }
      await sleep(POLL_MS, undefined, { signal, ref: false }).catch(() => {});
      if (signal.aborted) return;
    }
    await say(`Run ${runId} has not finished within its window + 60 s; see ${options.links(runId).html} later.`);
  } catch (err) {
    if (!signal.aborted) log.warn('following a chat run failed', { run: runId, error: (err as Error).message });
  }
}
