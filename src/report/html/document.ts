// report.html as a stream of string chunks: head, run header, findings, the
// comparison with the baseline, the node overview, then one collapsible section per node with a section per
// capture, each capture result read as a stream, drawn and let go in turn
// (memory holds what one result keeps of itself, streamed-result.ts, whatever
// the run's size). The output is a
// function of the context alone (no clock, no randomness), so rendering it
// twice gives the same bytes: the bundle measures it once, then writes it.
import type { Finding } from '../../model/findings.js';
import { describeOrigin, describeTarget, fmtCpuNs, fmtDurationMs, fmtInt } from '../../format/index.js';
import type { ReportContext, ReportNode } from '../model.js';
import { CSP, CSS, SCRIPT } from './assets.js';
import { baselineSection } from './baseline.js';
import { esc, idToken, scriptSafe } from './escape.js';
import { FLAME_DIGEST_BYTES, FlameDigest, graphFrameBudget } from './flame.js';
import type { StreamedResult } from '../streamed-result.js';
import type { StackSample } from '../../stacks/types.js';
import { captureSection, captureTable, findingsSection, nodeAnchor, nodesOverview, nodeTotals, type HtmlOptions } from './sections.js';

export interface HtmlRenderOptions extends Partial<HtmlOptions> {
  /** Runs with at most this many nodes open every node section at load; larger ones open the nodes of the top findings (default 6). */
  openNodes?: number;
}

function statusPill(status: string): string {
  return `<span class="pill status-${idToken(status)}">${esc(status)}</span>`;
}

function header(ctx: ReportContext): string {
  const { run } = ctx;
  const plan = run.plan;
  const rows: [string, string][] = [];
  rows.push(['Run', `<code>${esc(run.id)}</code> ${statusPill(run.status)}`]);
  rows.push(
    plan.runbook
      ? ['Runbook', `<b>${esc(plan.runbook)}</b>${plan.runbookTitle ? ` — ${esc(plan.runbookTitle)}` : ''}`]
      : ['Captures', esc(plan.steps.map((s) => s.capture).join(', '))],
  );
  if (plan.params && Object.keys(plan.params).length) {
    rows.push([
      'Params',
      esc(
        Object.entries(plan.params)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(', '),
      ),
    ]);
  }
  if (plan.runbook) rows.push(['Captures', esc(plan.steps.map((s) => s.capture).join(', '))]);
  rows.push(['Target', esc(describeTarget(plan.target as Record<string, unknown>))]);
  rows.push(['Window', esc(fmtDurationMs(plan.durationMs))]);
  rows.push(['Requested by', esc(run.requestedBy)]);
  if (plan.reason) rows.push(['Reason', esc(plan.reason)]);
  const origin = describeOrigin(plan.origin);
  if (origin)
    rows.push([
      'Origin',
      origin.url ? `${esc(origin.text)} · <a href="${esc(origin.url)}" rel="noreferrer noopener">${esc(origin.url)}</a>` : esc(origin.text),
    ]);
  const times = [`created ${run.createdAt}`, run.startedAt && `started ${run.startedAt}`, run.finishedAt && `finished ${run.finishedAt}`]
    .filter(Boolean)
    .join(' · ');
  rows.push(['When', esc(times)]);

  let events = 0;
  let dropped = 0;
  let cpu = 0;
  for (const n of ctx.nodes) {
    const t = nodeTotals(n);
    events += t.events;
    dropped += t.dropped;
    cpu += t.cpu;
  }
  const done = ctx.nodes.filter((n) => n.state.status === 'completed').length;
  const bad = ctx.nodes.length - done;
  const sev = (s: string) => (ctx.findings ?? []).filter((f) => f.severity === s).length;
  const findingsCard =
    ctx.findings === undefined ? '<b>–</b>not analyzed' : `<b>${ctx.findings.length}</b>${sev('critical')} critical · ${sev('warning')} warning`;
  const cards = [
    `<div><b>${ctx.nodes.length}</b>nodes${bad ? ` (${done} completed)` : ''}</div>`,
    `<div>${findingsCard}</div>`,
    `<div><b>${esc(fmtInt(events))}</b>events / rows</div>`,
    `<div><b>${esc(fmtInt(dropped))}</b>dropped</div>`,
    `<div><b>${esc(fmtCpuNs(cpu))}</b>BPF CPU</div>`,
  ];
  return (
    '<header class="run">' +
    `<h1>Sherlock report${plan.runbook ? `: ${esc(plan.runbook)}` : ''}</h1>` +
    `<p class="subtitle">Run ${esc(run.id)} · ${esc(run.status)} · ${ctx.nodes.length} node${ctx.nodes.length === 1 ? '' : 's'}</p>` +
    `<dl class="grid">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>` +
    `<div class="totals">${cards.join('')}</div>` +
    '</header>'
  );
}

/** Which node sections start open. */
function openSet(ctx: ReportContext, limit: number): Set<string> {
  if (ctx.nodes.length <= limit) return new Set(ctx.nodes.map((n) => n.name));
  const open = new Set<string>();
  for (const f of ctx.findings ?? []) {
    if (open.size >= Math.min(3, limit)) break;
    if (f.severity !== 'info' && ctx.nodes.some((n) => n.name === f.node)) open.add(f.node);
  }
  if (!open.size && ctx.nodes[0]) open.add(ctx.nodes[0].name);
  return open;
}

function nodeSummary(node: ReportNode, findings: Finding[]): string {
  const t = nodeTotals(node);
  const facts = [
    node.kernel ? `kernel ${node.kernel}` : 'kernel unknown',
    `${node.captures.length} capture${node.captures.length === 1 ? '' : 's'}${t.failed ? ` (${t.failed} failed)` : ''}`,
    `${fmtInt(t.events)} events`,
    `${fmtInt(t.dropped)} dropped`,
    `BPF CPU ${fmtCpuNs(t.cpu)}`,
  ];
  if (findings.length) facts.push(`${findings.length} finding${findings.length === 1 ? '' : 's'}`);
  return `<summary><span class="node-name">${esc(node.name)}</span> ${statusPill(node.state.status)} <span class="node-facts">${esc(facts.join(' · '))}</span></summary>`;
}

function nodeIntro(node: ReportNode, findings: Finding[]): string {
  const s = node.state;
  const parts: string[] = [];
  const wall = s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : NaN;
  const when = [s.startedAt && `started ${s.startedAt}`, s.finishedAt && `finished ${s.finishedAt}`, Number.isFinite(wall) && `wall ${fmtDurationMs(wall)}`]
    .filter(Boolean)
    .join(' · ');
  const kernel = node.kernel ? `kernel ${node.kernel}${node.kernelSource === 'heartbeat' ? ' (from its latest heartbeat)' : ''}` : '';
  parts.push(`<p class="meta">${esc([kernel, when].filter(Boolean).join(' · ') || 'never started')}</p>`);
  if (s.error) parts.push(`<p class="error">${esc(s.error)}</p>`);
  if (findings.length) {
    parts.push(
      `<p class="meta">Findings here: ${findings.map((f) => `<span class="sev sev-${idToken(String(f.severity))}">${esc(f.severity)}</span> ${esc(f.title)}`).join('; ')}</p>`,
    );
  }
  if (node.captures.length) parts.push(captureTable(node));
  else parts.push(`<p class="muted">No capture results from this node (${esc(s.status)}).</p>`);
  return parts.join('');
}

const DOC_HEAD = (title: string) =>
  '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
  `<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">` +
  '<meta name="viewport" content="width=device-width, initial-scale=1">' +
  '<meta name="referrer" content="no-referrer">' +
  `<title>${esc(title)}</title><style>${CSS}</style></head><body>`;

export async function* reportHtmlChunks(ctx: ReportContext, options: HtmlRenderOptions = {}): AsyncGenerator<string> {
  const graphs = ctx.nodes.reduce((n, node) => n + node.captures.filter((c) => c.kind === 'stacks' && !c.error).length, 0);
  const html: HtmlOptions = { linkFiles: options.linkFiles ?? true, frameBudget: options.frameBudget ?? graphFrameBudget(graphs) };
  const { run } = ctx;
  const findingsByNode = new Map<string, Finding[]>();
  for (const f of ctx.findings ?? []) findingsByNode.set(f.node, [...(findingsByNode.get(f.node) ?? []), f]);

  yield DOC_HEAD(`Sherlock ${run.plan.runbook ?? 'run'} ${run.id} (${run.status})`);
  yield header(ctx);
  yield findingsSection(ctx);
  yield baselineSection(ctx);
  yield '<section id="overview"><h2>Nodes</h2>';
  yield '<div class="toolbar"><button type="button" id="expand-all">Expand all nodes</button><button type="button" id="collapse-all">Collapse all</button></div>';
  yield nodesOverview(ctx, findingsByNode);
  yield '</section><section id="nodes"><h2>Per node</h2>';
  yield '<noscript><p class="warn">The node sections below are built by the page script; with scripts off, read the files under nodes/ instead.</p></noscript>';

  const open = openSet(ctx, options.openNodes ?? 6);
  for (const node of ctx.nodes) {
    const anchor = nodeAnchor(node);
    const findings = findingsByNode.get(node.name) ?? [];
    yield `<details class="node" id="${anchor}" data-body="${anchor}-body"${open.has(node.name) ? ' open' : ''}>${nodeSummary(node, findings)}<div class="node-body"></div>`;
    // The body is inert markup in raw-text elements until the section is
    // opened: its intro, then one part per capture (the page builds a part a task).
    const part = (i: number) => `<script type="text/x-sherlock-node" id="${anchor}-body-${i}">`;
    yield `${part(0)}${scriptSafe(nodeIntro(node, findings))}</script>`;
    for (const [i, capture] of node.captures.entries()) {
      let problem: string | undefined;
      let section: string;
      await ctx.beforeResult?.(node, capture);
      // What is parsed lives only inside the gate: drawn into a string, then dropped.
      const weight = Math.min(await ctx.resultBytes(node, capture).catch(() => 0), ctx.keepBytes + (capture.kind === 'stacks' ? FLAME_DIGEST_BYTES : 0));
      const release = ctx.resultGate ? await ctx.resultGate.acquire(weight) : undefined;
      try {
        // A stacks result's stacks are folded into the flame graph as they stream by, all of them.
        const flame = capture.kind === 'stacks' && !capture.error ? new FlameDigest() : undefined;
        let read: StreamedResult | undefined;
        try {
          read = await ctx.readResult(node, capture, flame && { field: 'stacks', each: (s) => flame.add(s as StackSample) });
        } catch (err) {
          problem = (err as Error).message;
        }
        section = captureSection(node, capture, read?.result, html, { ...(flame && read ? { flame } : {}), leftOut: read?.leftOut ?? [] });
      } finally {
        release?.();
      }
      if (problem) section = section.replace('</h3>', `</h3><p class="error">The stored result could not be read: ${esc(problem)}</p>`);
      yield `${part(i + 1)}${scriptSafe(section)}</script>`;
    }
    yield '</details>';
  }
  yield '</section>';
  yield `<footer>Sherlock report for run ${esc(run.id)}, generated ${esc(ctx.generatedAt.toISOString())}. Files beside this page: manifest.json, findings.json, summary.md, nodes/&lt;node&gt;/.</footer>`;
  yield `<script>${SCRIPT}</script></body></html>\n`;
}

/** The whole page as one string (tests, small runs). */
export async function renderReportHtml(ctx: ReportContext, options: HtmlRenderOptions = {}): Promise<string> {
  let out = '';
  for await (const chunk of reportHtmlChunks(ctx, options)) out += chunk;
  return out;
}
