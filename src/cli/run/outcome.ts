// How a run ended, as text: per node, the captures table, the findings.
import type { CaptureSummary } from '../../model/run.js';
import { formatDuration } from '../../util/duration.js';
import { renderTable, type TableColumn } from '../../format/index.js';
import { ApiRequestError, type ApiClient } from '../api-client.js';
import type { RunView } from './view.js';

export function nodeLines(run: RunView): string[] {
  const names = Object.keys(run.nodes);
  const width = Math.min(32, Math.max(4, ...names.map((n) => n.length)));
  return Object.entries(run.nodes).map(([name, state]) => {
    const took = state.startedAt && state.finishedAt ? ` in ${formatDuration(Date.parse(state.finishedAt) - Date.parse(state.startedAt))}` : '';
    const position = state.status === 'queued' && state.position !== undefined ? ` (position ${state.position})` : '';
    const dropped = (state.captures ?? []).reduce((sum, c) => sum + c.dropped, 0);
    const failed = (state.captures ?? []).filter((c) => c.error);
    const notes = [...(dropped ? [`${dropped} events DROPPED`] : []), ...(state.error ? [state.error] : failed.map((c) => `${c.capture} failed: ${c.error}`))];
    return `    ${name.padEnd(width)}  ${state.status}${took}${position}${notes.length ? `  (${notes.join('; ')})` : ''}`;
  });
}

export function outcome(run: RunView): string {
  const took = run.finishedAt ? ` in ${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt ?? run.createdAt))}` : '';
  const counts = new Map<string, number>();
  for (const s of Object.values(run.nodes)) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return [`run ${run.id} ${run.status}${took}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`, ...nodeLines(run)].join('\n');
}

type CaptureRow = CaptureSummary & { node: string };

const captureColumns: TableColumn<CaptureRow>[] = [
  { header: 'NODE', value: (r) => r.node },
  { header: 'CAPTURE', value: (r) => r.capture },
  { header: 'COUNT', value: (r) => String(r.count), numeric: true },
  { header: 'DROPPED', value: (r) => String(r.dropped), numeric: true },
  { header: 'BPF-CPU', value: (r) => `${(r.bpfCpuNs / 1e6).toFixed(2)}ms`, numeric: true },
  { header: 'TIME', value: (r) => formatDuration(r.durationMs), numeric: true },
  { header: 'RESULT', value: (r) => (r.error ? `failed: ${r.error}` : `${r.artifact ?? ''}${r.cancelled ? ' (stopped early)' : ''}`) },
];

export function captureTable(run: RunView): string {
  const rows = Object.entries(run.nodes).flatMap(([node, s]) => (s.captures ?? []).map((c) => ({ ...c, node })));
  return renderTable(captureColumns, rows);
}

export interface FindingView {
  severity?: string;
  title?: string;
  node?: string;
  capture?: string;
  [field: string]: unknown;
}

export interface FindingsRead {
  /** Undefined when this API has none to give (no route, or none stored). */
  findings?: FindingView[];
  /** The API refused (its message went to stderr): a failure. */
  refused: boolean;
  /** Why there are none to show, for people. */
  note?: string;
}

/** GET /v1/runs/:id/findings, tolerating an API without the route or a run without stored findings. */
export async function readFindings(client: ApiClient, run: RunView): Promise<FindingsRead> {
  let body: unknown;
  try {
    body = await client.jsonIfRouted<unknown>(`/v1/runs/${run.id}/findings`);
  } catch (err) {
    if (!(err instanceof ApiRequestError)) throw err;
    // A run that ended before analysis existed, or whose findings expired: not an error of this run.
    if (err.code === 'findings_not_found') return { refused: false, note: err.message };
    process.stderr.write(`sherlock: findings: ${err.message}\n`);
    return { refused: true };
  }
  const findings = Array.isArray(body) ? body : (body as { findings?: unknown } | undefined)?.findings;
  if (!Array.isArray(findings)) return { refused: false, note: 'not available from this API yet' };
  return { findings: findings as FindingView[], refused: false };
}

/** The findings as lines, or (without them) the per-node capture summaries. */
export function findingsText(run: RunView, read: FindingsRead): string {
  if (read.refused) return `\ncaptures:\n${captureTable(run)}\n`;
  if (!read.findings) return `\nfindings: ${read.note}; what each node captured:\n${captureTable(run)}\n`;
  if (!read.findings.length) return '\nfindings: none (nothing crossed a threshold)\n';
  const list = read.findings;
  const width = Math.max(4, ...list.map((f) => (f.node ?? '').length));
  const lines = list.map(
    (f) =>
      `  ${(f.severity ?? 'info').toUpperCase().padEnd(8)}  ${(f.node ?? '').padEnd(width)}  ${oneLine(f.title ?? '')}${f.capture && f.capture !== '*' ? `  [${f.capture}]` : ''}`,
  );
  return `\nfindings (${list.length}):\n${lines.join('\n')}\n`;
}

export const aboveInfo = (findings: FindingView[] | undefined) => (findings ?? []).some((f) => f.severity !== undefined && f.severity !== 'info');

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');
