// A run's live stream (GET /v1/runs/:id/live): streaming captures' events as
// they arrive, printed as the capture's own table rows (or NDJSON), until the
// server ends the stream with the run.
import { ApiRequestError, isMissingRoute, type ApiClient, type SseEvent } from '../api-client.js';
import type { Printer } from './printer.js';

interface LiveBatch {
  node: string;
  capture: string;
  events: Record<string, unknown>[];
  columns?: string[];
  cells?: string[][];
  notShown?: number;
}

/** Reads the live stream to its end (reconnecting after what it saw); quietly nothing on an API without it. */
export async function followLive(client: ApiClient, id: string, printer: Printer, signal: AbortSignal, nodes: string[]): Promise<void> {
  const lines = new LiveLines(nodes);
  let after: string | undefined;
  for (let failures = 0; !signal.aborted; ) {
    try {
      await client.events(
        `/v1/runs/${id}/live`,
        (e) => {
          after = e.id || after;
          failures = 0;
          print(e, printer, lines);
        },
        { signal, after },
      );
      return; // the server ended it: the run has ended
    } catch (err) {
      if (signal.aborted || isMissingRoute(err)) return;
      if (err instanceof ApiRequestError && err.status !== undefined && err.status < 500) throw err;
      if (++failures > 12) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * failures, 5000)));
    }
  }
}

function print(e: SseEvent, printer: Printer, lines: LiveLines): void {
  if (e.event !== 'events') return;
  const batch = e.data as unknown as LiveBatch;
  if (printer.json) {
    for (const event of batch.events ?? []) printer.record({ type: 'event', node: batch.node, capture: batch.capture, event });
    if (batch.notShown) printer.record({ type: 'not-shown', node: batch.node, capture: batch.capture, count: batch.notShown });
    return;
  }
  printer.lines(lines.batch(batch));
}

/** Table rows as they stream: a header the first time a capture speaks, columns widened as values need. */
export class LiveLines {
  private readonly widths = new Map<string, number[]>();
  /** The node column, on runs of more than one node. */
  private readonly nodeWidth: number;

  constructor(nodes: string[]) {
    this.nodeWidth = nodes.length > 1 ? Math.min(32, Math.max(4, ...nodes.map((n) => n.length))) : 0;
  }

  batch(b: LiveBatch): string[] {
    const out: string[] = [];
    const prefix = (node: string) => (this.nodeWidth ? `${node.padEnd(this.nodeWidth)}  ` : '');
    const key = b.capture;
    if (b.columns && b.cells) {
      let widths = this.widths.get(key);
      if (!widths) {
        // The first rows set the widths, so the header lines up with them.
        widths = b.columns.map((c, i) => Math.min(40, Math.max(c.length, ...b.cells!.map((row) => (row[i] ?? '').length))));
        this.widths.set(key, widths);
        out.push(`${prefix('NODE')}${b.capture.toUpperCase()}  ${this.row(b.columns, widths)}`);
      }
      for (const cells of b.cells) out.push(`${prefix(b.node)}${b.capture}  ${this.row(cells, widths)}`);
    } else {
      for (const event of b.events ?? []) out.push(`${prefix(b.node)}${b.capture}  ${JSON.stringify(event)}`);
    }
    if (b.notShown) out.push(`${prefix(b.node)}${b.capture}  … ${b.notShown} more events not shown live (over the live rate; the report has every one)`);
    return out;
  }

  /** Cells padded to the widest seen so far (the last cell is not padded: paths and argv run long). */
  private row(cells: string[], widths: number[]): string {
    return cells
      .map((cell, i) => {
        // Control characters (an argv's escape sequences) never reach the terminal.
        // eslint-disable-next-line no-control-regex
        const text = cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
        if (i === cells.length - 1) return text;
        widths[i] = Math.min(40, Math.max(widths[i] ?? 0, text.length));
        return text.padEnd(widths[i]!);
      })
      .join('  ');
  }
}
