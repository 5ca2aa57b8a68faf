// summary.md: a few lines to paste into an incident channel or a postmortem —
// what ran where and how it ended, the top findings, and one table of every
// node's captures (events, drops, BPF CPU cost).
import type { Finding } from '../model/findings.js';
import { impactOf } from '../analysis/rank.js';
import { describeOrigin, describeTarget, fmtClock, fmtCpuNs, fmtDurationMs, fmtInt } from '../format/index.js';
import type { ReportContext } from './model.js';

export const SUMMARY_TOP_FINDINGS = 10;

/**
 * Markdown inline text: one line; pipes (tables), backticks, '*', brackets and
 * angle brackets escaped. '_' stays (intraword it is not emphasis, and node
 * names are full of it; Slack shows backslashes literally).
 */
export function mdText(text: unknown): string {
  return (
    String(text ?? '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/([\\`*[\]|<>])/g, '\\$1')
      .trim()
  );
}

const SEVERITY_LABEL: Record<string, string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'info' };

function findingLine(f: Finding, i: number): string {
  const where = `${f.node === '*' ? 'all nodes' : mdText(f.node)}${f.capture === '*' ? '' : ` · ${mdText(f.capture)}`}`;
  const impact = impactText(f);
  return `${i + 1}. **${SEVERITY_LABEL[f.severity] ?? mdText(f.severity)}** ${where} — ${mdText(f.title)}${impact ? ` _(impact ${mdText(impact)})_` : ''}`;
}

/** "0.99 s/s: 0.99 CPUs: 297 samples at 99 Hz over 3 s" */
export function impactText(f: Finding): string | undefined {
  const impact = impactOf(f);
  if (!impact) return undefined;
  return `${fmtImpact(impact.value)} ${impact.unit}: ${impact.basis}`;
}

const fmtImpact = (v: number) => (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));

/** Why the first finding is first: its impact on the runbook's symptom beside the next ones'. */
export function whyFirst(findings: Finding[], symptom: string | undefined): string | undefined {
  const ranked = findings.filter((f) => impactOf(f));
  if (ranked.length < 1 || findings[0] !== ranked[0]) return undefined;
  const on = `on ${symptom ?? 'health'}`;
  const next = ranked.slice(1, 3).map((f) => `#${findings.indexOf(f) + 1} ${fmtImpact(f.score)}`);
  return (
    `Ranked by impact ${on} (s/s: seconds lost or CPU used per second of window; hits: rule matches by severity): #1 ${fmtImpact(ranked[0]!.score)}` +
    (next.length ? `, then ${next.join(', ')}` : ', nothing else had an impact') +
    '.'
  );
}

/** Rows of the baseline table in summary.md (report.html and baseline.json have all). */
export const SUMMARY_BASELINE_ROWS = 20;

function baselineSection(ctx: ReportContext): string[] {
  const cmp = ctx.baseline;
  const out = ['## Compared with baseline', ''];
  if (!cmp) return [...out, '_No baseline comparison for this run._'];
  if (!cmp.rows.length) {
    const none = cmp.missing.length
      ? `no scheduled baseline yet for ${cmp.missing.map(mdText).join(', ')} (target ${mdText(cmp.target)}).`
      : 'no comparable numbers on either side.';
    return [...out, `_Nothing to compare: ${none}_`];
  }
  out.push('| node | metric | baseline | now | change |', '|---|---|---:|---:|---|');
  for (const r of cmp.rows.slice(0, SUMMARY_BASELINE_ROWS)) {
    const change = r.regression ? `**${mdText(r.change)}** (${r.regression})` : mdText(r.change);
    out.push(
      `| ${mdText(r.node)} | ${mdText(r.metric)} | ${mdText(r.baseline)} (${fmtClock(r.baselineAt, ctx.run.createdAt)}) | ${mdText(r.now)} | ${change} |`,
    );
  }
  if (cmp.rows.length > SUMMARY_BASELINE_ROWS) out.push('', `(${cmp.rows.length - SUMMARY_BASELINE_ROWS} more rows in baseline.json and report.html)`);
  if (cmp.missing.length) out.push('', `No baseline yet for: ${cmp.missing.map(mdText).join(', ')}.`);
  return out;
}

/** Sherlock's own share of each node: left out of the captures, shown here. */
function sherlockSection(ctx: ReportContext): string[] {
  const rows = ctx.nodes.filter((n) => n.state.sherlock);
  if (!rows.length) return [];
  const out = ["## Sherlock's own cost", '', '| node | CPU | of | over | BPF CPU | left out of captures |', '|---|---:|---|---:|---:|---|'];
  for (const n of rows) {
    const c = n.state.sherlock!;
    out.push(
      `| ${mdText(n.name)} | ${fmtDurationMs(c.cpuMs)} | ${mdText(c.cpuScope)} | ${fmtDurationMs(c.wallMs)} | ${fmtDurationMs(c.bpfCpuMs)} | ${c.cgroup ? `cgroup ${mdText(c.cgroup)}` : 'no (no cgroup of its own)'} |`,
    );
  }
  return out;
}

export function renderSummary(ctx: ReportContext): string {
  const { run } = ctx;
  const plan = run.plan;
  const what = plan.runbook
    ? `runbook \`${mdText(plan.runbook)}\`${plan.runbookTitle ? ` (${mdText(plan.runbookTitle)})` : ''}`
    : `captures ${plan.steps.map((s) => `\`${mdText(s.capture)}\``).join(', ')}`;
  const out: string[] = [];
  out.push(`# Sherlock run ${mdText(run.id)}: ${mdText(run.status)}`, '');
  out.push(`- **What:** ${what} for ${fmtDurationMs(plan.durationMs)} on ${describeTarget(plan.target as Record<string, unknown>)}`);
  if (plan.params && Object.keys(plan.params).length) {
    out.push(
      `- **Params:** ${Object.entries(plan.params)
        .map(([k, v]) => `${mdText(k)}=${mdText(typeof v === 'string' ? v : JSON.stringify(v))}`)
        .join(', ')}`,
    );
  }
  out.push(`- **Requested by:** ${mdText(run.requestedBy)}${plan.reason ? ` — ${mdText(plan.reason)}` : ''}`);
  const origin = describeOrigin(plan.origin);
  if (origin) out.push(`- **Origin:** ${mdText(origin.text)}${origin.url ? ` — <${origin.url.replace(/[<>\s]/g, encodeURIComponent)}>` : ''}`);
  const wall = run.startedAt && run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : NaN;
  out.push(
    `- **When:** created ${run.createdAt}${run.startedAt ? `, started ${run.startedAt}` : ''}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}${Number.isFinite(wall) ? ` (${fmtDurationMs(wall)})` : ''}`,
  );
  const byStatus = new Map<string, number>();
  for (const n of ctx.nodes) byStatus.set(n.state.status, (byStatus.get(n.state.status) ?? 0) + 1);
  out.push(`- **Nodes:** ${ctx.nodes.length} (${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'})`);
  out.push('');

  out.push('## Top findings', '');
  if (ctx.findings === undefined) out.push('_No analysis for this run (yet): see the capture table below and report.html._');
  else if (!ctx.findings.length) out.push('No findings: nothing crossed a threshold.');
  else {
    const why = whyFirst(ctx.findings, ctx.run.plan.symptom);
    if (why) out.push(mdText(why), '');
    ctx.findings.slice(0, SUMMARY_TOP_FINDINGS).forEach((f, i) => out.push(findingLine(f, i)));
    if (ctx.findings.length > SUMMARY_TOP_FINDINGS) out.push('', `(${ctx.findings.length - SUMMARY_TOP_FINDINGS} more in findings.json and report.html)`);
  }
  out.push('');

  out.push(...baselineSection(ctx), '');

  out.push(...sherlockSection(ctx), '');

  out.push('## Captures per node', '');
  out.push('| node | kernel | capture | events | dropped | BPF CPU | duration | status |');
  out.push('|---|---|---|---:|---:|---:|---:|---|');
  for (const node of ctx.nodes) {
    const nodeCell = `${mdText(node.name)} (${mdText(node.state.status)})`;
    if (!node.captures.length) {
      out.push(`| ${nodeCell} | ${mdText(node.kernel ?? '-')} | - | - | - | - | - | ${mdText(node.state.error ?? node.state.status)} |`);
      continue;
    }
    node.captures.forEach((c, i) => {
      const status = c.error
        ? `failed: ${mdText(c.error)}`
        : c.stopped
          ? `stopped: ${mdText(c.stopped.message)}`
          : c.truncated
            ? `truncated: ${mdText(c.truncated.message)}`
            : c.cancelled
              ? 'cancelled'
              : 'ok';
      out.push(
        `| ${i === 0 ? nodeCell : ''} | ${i === 0 ? mdText(node.kernel ?? '-') : ''} | ${mdText(c.capture)} | ${fmtInt(c.count)} | ${fmtInt(c.dropped)} | ${fmtCpuNs(c.bpfCpuNs)} | ${fmtDurationMs(c.durationMs)} | ${status} |`,
      );
    });
  }
  out.push('');
  out.push(`Bundle: \`${ctx.root}.tar.gz\` — report.html (open in a browser), manifest.json, findings.json, nodes/<node>/<capture>.json and raw files.`);
  return `${out.join('\n')}\n`;
}
