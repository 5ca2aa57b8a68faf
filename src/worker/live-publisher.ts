// A node's streaming-capture events, as they arrive, onto the run's live
// stream (GET /v1/runs/:id/live): the events themselves for machines, and the
// capture's own table cells for people, so a client needs no capture code.
import type { CaptureDefinition } from '../captures/capture.js';
import type { LiveEventsHandler } from '../captures/live-events.js';
import type { RunStore } from '../runs/store.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ component: 'worker' });

export interface LivePublisher {
  onEvents: LiveEventsHandler;
  /** Resolves once every batch handed on so far is in Redis (before the node reports finished). */
  flushed(): Promise<void>;
}

export function livePublisher(store: RunStore, runId: string, node: string, def: CaptureDefinition): LivePublisher {
  let chain = Promise.resolve();
  let failed = false;
  return {
    onEvents(events, notShown) {
      const batch = { type: 'events', node, capture: def.name, events, ...tableCells(def, events), ...(notShown ? { notShown } : {}) };
      chain = chain
        .then(() => store.appendLive(runId, batch))
        .catch((err: Error) => {
          // Live output is a view: the stored result is what counts, so a failure is logged once and the run goes on.
          if (!failed) log.warn('live events not sent', { runId, node, capture: def.name, error: err.message });
          failed = true;
        });
    },
    flushed: () => chain,
  };
}

/** The rows as the capture's human table shows them (`sherlock capture NAME`). */
function tableCells(def: CaptureDefinition, events: unknown[]): { columns?: string[]; cells?: string[][] } {
  try {
    const { columns, rows } = def.table({ events });
    return { columns: columns.map((c) => c.header), cells: rows.map((row) => columns.map((c) => String(c.value(row)))) };
  } catch {
    return {}; // a table that needs more than the events: clients print the events themselves
  }
}
