// The parts of report.html: findings, the node overview, and one section per
// capture of a node, drawn by its result kind (histograms as SVG, stacks as a
// flame graph, events and counters as sortable tables) from the capture's
// own table columns (CaptureDefinition.table), plus whatever else its data
// holds (other row lists as tables, scalars as facts).
import type { Finding } from '../../model/findings.js';
import { impactText, whyFirst } from '../summary.js';
import type { CaptureResult, Column, LabeledHistogram } from '../../captures/capture.js';
import type { Log2Histogram } from '../../model/histogram.js';
import type { StackData } from '../../captures/stack-family/stack-capture.js';
import { captures as registry } from '../../captures/registry.js';
import type { CaptureSummary } from '../../model/run.js';
import { fmtBytes, fmtCpuNs, fmtDurationMs, fmtInt, humanValue } from '../../format/index.js';
import { META_FIELDS, nodeFilePath, type ReportContext, type ReportNode } from '../model.js';
import { histogramSvg, histogramStats } from './charts.js';
import { esc, idToken, scriptSafe } from './escape.js';
import { digestFlameSection, flameSection, type FlameDigest } from './flame.js';
import { arrayFigures, type StreamedResult } from '../streamed-result.js';
import { objectTable, sortableTable } from './tables.js';

/** Rows of a capture's main table in the page; the JSON and NDJSON files hold all. */
export const MAX_TABLE_ROWS = 300;
/** Histograms drawn per capture (the table lists every one). */
export const MAX_HISTOGRAMS = 8;
export const MAX_EXTRA_ROWS = 200;

export interface HtmlOptions {
  /** Link raw files relative to the page (true in the bundle, where they sit beside it). */
  linkFiles: boolean;
  /** Frames each flame graph may keep (flame.ts, graphFrameBudget). */
  frameBudget?: number;
}

const MAIN_FIELD: Record<string, string> = { events: 'events', histogram: 'histograms', counters: 'rows', stacks: 'stacks' };
const META_KEYS: ReadonlySet<string> = new Set(META_FIELDS);
/** Fields a kind's renderer already shows. */
const SHOWN_BY_KIND: Record<string, string[]> = { stacks: ['sampleType', 'periodNs', 'top'], histogram: [], events: [], counters: [] };

export const nodeAnchor = (node: ReportNode) => `node-${idToken(node.dir)}`;
export const captureAnchor = (node: ReportNode, capture: string) => `cap-${idToken(node.dir)}-${idToken(capture)}`;

const SEVERITY_LABEL: Record<string, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

function sevClass(severity: string): string {
  return `sev sev-${idToken(String(severity))}`;
}

/** A field's value in people's units (humanValue), the raw value on hover. */
function valueDd(key: string, value: unknown): string {
  const human = humanValue(key, value);
  return `<dd${human.raw ? ` title="${esc(human.raw)}"` : ''}>${esc(human.text)}</dd>`;
}

/** Evidence values: scalars in people's units, row lists as a small table, other objects as text. */
function evidenceHtml(evidence: Record<string, unknown> | undefined): string {
  if (!evidence || typeof evidence !== 'object') return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(evidence).slice(0, 24)) {
    if (Array.isArray(value) && value.length && value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
      parts.push(`<dt>${esc(key)}</dt><dd>${objectTable(value, { limit: 10 })}</dd>`);
    } else parts.push(`<dt>${esc(key)}</dt>${valueDd(key, value)}`);
  }
  return parts.length ? `<dl class="evidence">${parts.join('')}</dl>` : '';
}

export function findingsSection(ctx: ReportContext): string {
  const out: string[] = ['<section id="findings"><h2>Findings</h2>'];
  const findings = ctx.findings;
  if (findings === undefined) {
    out.push('<p class="muted">Analysis has not produced findings for this run (yet). The node sections below hold every capture result.</p>');
  } else if (!findings.length) {
    out.push('<p class="ok-note">No findings: nothing crossed a threshold on any node.</p>');
  } else {
    const nodesByName = new Map(ctx.nodes.map((n) => [n.name, n]));
    const why = whyFirst(findings, ctx.run.plan.symptom);
    if (why) out.push(`<p class="muted why-first">${esc(why)}</p>`);
    out.push('<ol class="findings">');
    findings.forEach((f, i) => out.push(findingItem(f, nodesByName.get(f.node), `finding-${i}-evidence`)));
    out.push('</ol>');
  }
  out.push('</section>');
  return out.join('');
}

/** Where a finding points: its capture's section, its node's (capture "*": the node as a whole), or all nodes ("*"). */
function findingWhere(f: Finding, node: ReportNode | undefined): string {
  const wholeNode = f.capture === '*' || !node?.captures.some((c) => c.capture === f.capture);
  const label = `${f.node === '*' ? 'all nodes' : f.node}${f.capture === '*' ? '' : ` · ${f.capture}`}`;
  if (!node) return esc(label);
  const href = wholeNode ? nodeAnchor(node) : captureAnchor(node, String(f.capture));
  return `<a class="goto" href="#${href}" data-node="${nodeAnchor(node)}">${esc(label)}</a>`;
}

function findingItem(f: Finding, node: ReportNode | undefined, evidenceId: string): string {
  const where = findingWhere(f, node);
  const evidence = evidenceHtml(f.evidence);
  // Evidence stays inert markup (a raw-text script) until its box is opened: a 50-node run has a
  // thousand findings, and their tables built at load would be one long task.
  return (
    `<li class="finding finding-${idToken(String(f.severity))}">` +
    `<div class="finding-head"><span class="${sevClass(f.severity)}">${esc(SEVERITY_LABEL[f.severity] ?? f.severity)}</span>` +
    `<span class="finding-title">${esc(f.title)}</span></div>` +
    `<div class="finding-where">${where}${f.file ? ` · <code>${esc(f.file)}</code>` : ''}${impactText(f) ? ` · impact ${esc(impactText(f)!)}` : ''}</div>` +
    (evidence
      ? `<details class="evidence-box" data-body="${evidenceId}"><summary>Evidence</summary><script type="text/x-sherlock-evidence" id="${evidenceId}">${scriptSafe(evidence)}</script></details>`
      : '') +
    '</li>'
  );
}

export function nodeTotals(node: ReportNode) {
  let events = 0;
  let dropped = 0;
  let cpu = 0;
  let failed = 0;
  for (const c of node.captures) {
    events += c.count || 0;
    dropped += c.dropped || 0;
    cpu += c.bpfCpuNs || 0;
    if (c.error) failed++;
  }
  return { events, dropped, cpu, failed };
}

const wallOf = (a?: string, b?: string) => (a && b ? Date.parse(b) - Date.parse(a) : NaN);

export function nodesOverview(ctx: ReportContext, findingsByNode: Map<string, Finding[]>): string {
  const rows = ctx.nodes.map((n) => {
    const t = nodeTotals(n);
    const f = findingsByNode.get(n.name) ?? [];
    const link = { html: `<a class="goto" href="#${nodeAnchor(n)}" data-node="${nodeAnchor(n)}">${esc(n.name)}</a>`, text: n.name };
    return [
      link,
      n.state.status,
      n.kernel ?? '-',
      String(n.captures.length),
      fmtInt(t.events),
      fmtInt(t.dropped),
      fmtCpuNs(t.cpu),
      fmtDurationMs(wallOf(n.state.startedAt, n.state.finishedAt)),
      String(f.length),
    ];
  });
  return sortableTable(
    [
      { header: 'NODE' },
      { header: 'STATUS' },
      { header: 'KERNEL' },
      { header: 'CAPTURES', numeric: true },
      { header: 'EVENTS', numeric: true },
      { header: 'DROPPED', numeric: true },
      { header: 'BPF CPU', numeric: true },
      { header: 'WALL', numeric: true },
      { header: 'FINDINGS', numeric: true },
    ],
    rows,
    { className: 'nodes-table' },
  );
}

/** The node's capture list: what ran, counts, drops, cost, status. */
export function captureTable(node: ReportNode): string {
  return sortableTable(
    [
      { header: 'CAPTURE' },
      { header: 'KIND' },
      { header: 'EVENTS', numeric: true },
      { header: 'DROPPED', numeric: true },
      { header: 'BPF CPU', numeric: true },
      { header: 'DURATION', numeric: true },
      { header: 'STATUS' },
    ],
    node.captures.map((c) => [
      c.capture,
      c.kind,
      fmtInt(c.count),
      fmtInt(c.dropped),
      fmtCpuNs(c.bpfCpuNs),
      fmtDurationMs(c.durationMs),
      c.error ? `failed: ${c.error}` : c.cancelled ? 'cancelled' : 'ok',
    ]),
    { className: 'captures-table' },
  );
}

function isHistogram(v: unknown): v is Log2Histogram {
  return typeof v === 'object' && v !== null && Array.isArray((v as Log2Histogram).buckets) && typeof (v as Log2Histogram).unit === 'string';
}

function labelText(labels: Record<string, unknown> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? entries.map(([k, v]) => `${k} = ${String(v)}`).join(', ') : 'all';
}

function histogramsHtml(result: Record<string, unknown>): string {
  const out: string[] = [];
  const charts: { title: string; h: Log2Histogram }[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (key !== 'histograms' && isHistogram(value)) charts.push({ title: key, h: value });
  }
  const list = Array.isArray(result.histograms) ? (result.histograms as LabeledHistogram[]) : [];
  for (const lh of list) if (lh && isHistogram(lh.histogram)) charts.push({ title: labelText(lh.labels), h: lh.histogram });
  if (!charts.length) return '<p class="muted">No histogram samples in the window.</p>';
  // A capture's own idea of how many are worth drawing (runqlat's `top` groups, plus the overall one).
  const limit = typeof result.top === 'number' && result.top >= 0 ? Math.min(MAX_HISTOGRAMS, result.top + 1) : MAX_HISTOGRAMS;
  out.push('<div class="hists">');
  for (const { title, h } of charts.slice(0, limit)) {
    out.push(
      `<figure class="hist-fig"><figcaption><b>${esc(title)}</b> <span class="muted">${esc(histogramStats(h))}</span></figcaption>${histogramSvg(h, title)}</figure>`,
    );
  }
  out.push('</div>');
  // A list cut while streaming (streamed-result.ts) has more than it keeps.
  const more = charts.length + (arrayFigures(list).length - list.length) - limit;
  if (more > 0) out.push(`<p class="note">${more} more histograms are summed up in the table below.</p>`);
  return out.join('');
}

function factsHtml(result: Record<string, unknown>, kind: string): string {
  const skip = new Set([...META_KEYS, MAIN_FIELD[kind] ?? '', ...(SHOWN_BY_KIND[kind] ?? [])]);
  const facts: string[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (skip.has(key) || Array.isArray(value) || isHistogram(value)) continue;
    if (value === undefined || value === null) continue;
    facts.push(`<dt>${esc(key)}</dt>${valueDd(key, value)}`);
  }
  return facts.length ? `<dl class="facts">${facts.join('')}</dl>` : '';
}

function extrasHtml(result: Record<string, unknown>, kind: string, fullData: string): string {
  const out: string[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (key === MAIN_FIELD[kind] || META_KEYS.has(key) || !Array.isArray(value) || !value.length) continue;
    if (kind === 'histogram' && key === 'histograms') continue;
    const whole = arrayFigures(value);
    if (whole.objects !== whole.length) continue;
    out.push(objectTable(value, { caption: key, limit: MAX_EXTRA_ROWS, fullData }));
  }
  return out.join('');
}

const TABLE_CAPTION: Record<string, string> = { events: 'Events', counters: 'Rows', histogram: 'Summary', stacks: 'Heaviest stacks' };

function mainTable(capture: string, kind: string, result: Record<string, unknown>, fullData: string): string {
  const def = registry.get(capture);
  const caption = TABLE_CAPTION[kind] ?? 'Rows';
  if (!def) {
    const main = result[MAIN_FIELD[kind] ?? ''] ?? Object.values(result).find((v) => Array.isArray(v));
    return Array.isArray(main) ? objectTable(main, { caption, limit: MAX_TABLE_ROWS, fullData }) : '';
  }
  const { columns, rows } = def.table(result) as { columns: Column<unknown>[]; rows: unknown[] };
  const shown = rows.slice(0, MAX_TABLE_ROWS).map((row) =>
    columns.map((c) => {
      try {
        return c.value(row);
      } catch {
        return '?';
      }
    }),
  );
  return sortableTable(
    columns.map((c) => ({ header: c.header, ...(c.numeric ? { numeric: true } : {}) })),
    shown,
    { caption, total: arrayFigures(rows).length, fullData },
  );
}

function dropsText(result: Partial<CaptureResult<unknown>>): string {
  const drops = Object.entries(result.drops ?? {}).filter(([, n]) => typeof n === 'number' && n > 0);
  return drops.length ? ` (${drops.map(([reason, n]) => `${reason} ${fmtInt(n)}`).join(', ')})` : '';
}

function fileLinks(node: ReportNode, summary: CaptureSummary, options: HtmlOptions): string {
  const names = [summary.artifact, ...(summary.files ?? [])].filter((n): n is string => Boolean(n));
  if (!names.length) return '';
  const items = names.map((name) => {
    const path = nodeFilePath(node, name);
    return options.linkFiles ? `<a href="${esc(path)}">${esc(name)}</a>` : `<code>${esc(name)}</code>`;
  });
  return `<p class="files">Files: ${items.join(' · ')}</p>`;
}

/** What a result read as a stream brings beside it (streamed-result.ts). */
export interface StreamedExtras {
  /** Every stack folded as it went by (stacks kind); without it the section folds `result.stacks`. */
  flame?: FlameDigest;
  /** Members too big to parse for the page. */
  leftOut?: StreamedResult['leftOut'];
}

/** One capture of one node. `result` is undefined when it failed or its artifact is gone. */
export function captureSection(
  node: ReportNode,
  summary: CaptureSummary,
  result: Record<string, unknown> | undefined,
  options: HtmlOptions,
  streamed: StreamedExtras = {},
): string {
  const out: string[] = [];
  out.push(`<section class="capture" id="${captureAnchor(node, summary.capture)}">`);
  out.push(`<h3>${esc(summary.capture)} <span class="kind">${esc(summary.kind)}</span></h3>`);
  if (summary.error) {
    out.push(
      summary.skipped
        ? `<p>Skipped on this host: ${esc(summary.error)}</p></section>`
        : `<p class="error">This capture failed: ${esc(summary.error)}</p></section>`,
    );
    return out.join('');
  }
  const r = (result ?? {}) as Partial<CaptureResult<unknown>> & Record<string, unknown>;
  const meta: string[] = [];
  if (r.target) meta.push(`target ${esc(r.target)}`);
  meta.push(`${esc(fmtDurationMs(r.durationMs ?? summary.durationMs))}${r.cancelled || summary.cancelled ? ' (cancelled early)' : ''}`);
  meta.push(`${esc(fmtInt(summary.count))} ${summary.kind === 'events' ? 'events' : summary.kind === 'stacks' ? 'stacks' : 'rows'}`);
  meta.push(`dropped ${esc(fmtInt(r.dropped ?? summary.dropped))}${esc(dropsText(r))}`);
  meta.push(`BPF CPU ${esc(fmtCpuNs(r.bpfCpuNs ?? summary.bpfCpuNs))}${r.bpfRunCount !== undefined ? ` in ${esc(fmtInt(r.bpfRunCount))} runs` : ''}`);
  if (r.partialReads) meta.push(`${esc(fmtInt(r.partialReads))} partial reads`);
  if (summary.bytes !== undefined) meta.push(`result ${esc(fmtBytes(summary.bytes))}`);
  out.push(`<p class="meta">${meta.join(' · ')}</p>`);
  if ((r.dropped ?? summary.dropped) > 0) {
    out.push(`<p class="warn">${esc(fmtInt(r.dropped ?? summary.dropped))} events were dropped${esc(dropsText(r))}: counts below are lower bounds.</p>`);
  }
  out.push(fileLinks(node, summary, options));
  if (!result) {
    out.push('<p class="error">The stored result is no longer available (expired with the retention period).</p></section>');
    return out.join('');
  }
  const fullData = nodeFilePath(
    node,
    summary.kind === 'events' && summary.files?.some((f) => f.endsWith('.ndjson'))
      ? summary.files.find((f) => f.endsWith('.ndjson'))!
      : (summary.artifact ?? `${summary.capture}.json`),
  );
  try {
    if (summary.kind === 'histogram') out.push(histogramsHtml(result));
    if (summary.kind === 'stacks') {
      const data = result as unknown as StackData & { capture?: string; target?: string };
      out.push(streamed.flame ? digestFlameSection(streamed.flame, data, options.frameBudget) : flameSection(data, options.frameBudget));
    }
    out.push(factsHtml(result, summary.kind));
    out.push(mainTable(summary.capture, summary.kind, result, fullData));
    out.push(extrasHtml(result, summary.kind, nodeFilePath(node, summary.artifact ?? `${summary.capture}.json`)));
    for (const { field, bytes } of streamed.leftOut ?? []) {
      out.push(
        `<p class="note">${esc(field)} (${esc(fmtBytes(bytes))}) is too big to show here; <code>${esc(nodeFilePath(node, summary.artifact ?? `${summary.capture}.json`))}</code> holds it.</p>`,
      );
    }
  } catch (err) {
    out.push(`<p class="error">This result could not be drawn (${esc((err as Error).message)}); the raw files above hold it.</p>`);
  }
  out.push('</section>');
  return out.join('');
}
