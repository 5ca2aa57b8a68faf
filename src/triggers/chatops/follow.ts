// Follows a chat-started run from the API process and posts its progress to
// the command's response_url: at most 5 posts (Slack's limit), the last with
// the top findings and links to the report. Never blocks the ack.
import type { Finding } from '../../analysis/types.js';
import type { RunStore } from '../../runs/store.js';
import { FINAL_STATUSES, type RunRecord } from '../../runs/types.js';
import { createLogger } from '../../util/logger.js';

const log = createLogger({ component: 'chatops' });

export const MAX_POSTS = 5;
export const POLL_MS = 500;
const GRACE_MS = 60_000;
const POST_TIMEOUT_MS = 5_000;

export interface FollowOptions {
  store: RunStore;
  runId: string;
  responseUrl: string;
  baseUrl: string;
  durationMs: number;
  /** Posts a JSON message; injectable for tests. */
  post?: (url: string, message: ChatMessage) => Promise<void>;
}

export interface ChatMessage {
  response_type: 'ephemeral' | 'in_channel';
  text: string;
  replace_original?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

async function postJson(url: string, message: ChatMessage): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(POST_TIMEOUT_MS),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`response_url answered ${res.status}`);
}

export function reportLinks(baseUrl: string, runId: string) {
  return { html: `${baseUrl}/v1/runs/${runId}/report.html`, json: `${baseUrl}/v1/runs/${runId}/report` };
}

const severityRank = { critical: 0, warning: 1, info: 2 } as const;

export function finalText(run: RunRecord, findings: Finding[] | undefined, baseUrl: string): string {
  const links = reportLinks(baseUrl, run.id);
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

/** Resolves when the run ended (or the bound passed); never rejects. */
export async function followRun(options: FollowOptions): Promise<void> {
  const post = options.post ?? postJson;
  let posts = 0;
  const send = async (text: string) => {
    if (posts >= MAX_POSTS) return;
    posts++;
    try {
      await post(options.responseUrl, { response_type: 'in_channel', replace_original: false, text });
    } catch (err) {
      log.warn('response_url post failed', { run: options.runId, error: (err as Error).message });
    }
  };
  const deadline = Date.now() + options.durationMs + GRACE_MS;
  const maxPolls = Math.ceil((options.durationMs + GRACE_MS) / POLL_MS) + 10;
  let announcedRunning = false;
  try {
    for (let i = 0; i < maxPolls && Date.now() < deadline; i++) {
      const run = await options.store.get(options.runId);
      if (!run) return void (await send(`Run ${options.runId} is gone (expired or removed).`));
      if (FINAL_STATUSES.has(run.status)) {
        const findings = await options.store.getFindings(run.id);
        return void (await send(finalText(run, findings, options.baseUrl)));
      }
      if (!announcedRunning && run.status === 'running') {
        announcedRunning = true;
        const running = Object.values(run.nodes).filter((s) => s.status === 'running').length;
        await send(`Run ${run.id} is running on ${running} of ${Object.keys(run.nodes).length} node(s).`);
      }
      await sleep(POLL_MS);
    }
    await send(`Run ${options.runId} has not finished within its window + 60 s; see ${reportLinks(options.baseUrl, options.runId).html} later.`);
  } catch (err) {
    log.warn('following a chat run failed', { run: options.runId, error: (err as Error).message });
  }
}
