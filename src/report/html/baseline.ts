// The "Compared with baseline" section of report.html: each node's numbers
// now beside its latest scheduled baseline, regressions first and marked.
import { fmtClock } from '../../format/index.js';
import type { ReportContext } from '../model.js';
import { esc } from './escape.js';
import { sortableTable, type Cell } from './tables.js';

/** Rows drawn in the page; baseline.json holds all. */
export const MAX_BASELINE_ROWS = 200;

export function baselineSection(ctx: ReportContext): string {
  const cmp = ctx.baseline;
  const out = ['<section id="baseline"><h2>Compared with baseline</h2>'];
  if (!cmp) {
    out.push('<p class="muted">No baseline comparison is stored for this run.</p></section>');
    return out.join('');
  }
  if (cmp.rows.length) {
    const rows: Cell[][] = cmp.rows
      .slice(0, MAX_BASELINE_ROWS)
      .map((r) => [
        r.node,
        r.metric,
        r.baseline,
        `${fmtClock(r.baselineAt, ctx.run.createdAt)} (${r.baselineRunbook})`,
        r.now,
        r.regression ? { html: `<span class="sev sev-${r.regression}">${esc(r.change)}</span>`, text: r.change } : r.change,
      ]);
    out.push(
      sortableTable(
        [
          { header: 'node' },
          { header: 'metric' },
          { header: 'baseline', numeric: true },
          { header: 'baseline taken' },
          { header: 'now', numeric: true },
          { header: 'change' },
        ],
        rows,
        { total: cmp.rows.length, fullData: 'baseline.json', className: 'baseline' },
      ),
    );
  } else {
    out.push('<p class="muted">Nothing to compare: no comparable numbers on either side.</p>');
  }
  if (cmp.missing.length) {
    out.push(
      `<p class="note">No scheduled baseline yet for ${esc(cmp.missing.join(', '))} (target ${esc(cmp.target)}): schedule the health-check runbook to get one.</p>`,
    );
  }
  out.push('</section>');
  return out.join('');
}
