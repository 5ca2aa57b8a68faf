// A streaming capture's events shown as they arrive: what its collector kept
// since the last look, a few times a second, through the same redaction as the
// stored result, at most so many a second (the stored result keeps them all).
import { elapsedMs, monoNow } from '../util/clock.js';

/** How often new events are handed on: often enough to feel live, few enough batches for Redis. */
export const LIVE_FLUSH_MS = 250;
/** Per capture and node; an exec storm is counted, not streamed (the report has every event). */
export const LIVE_EVENTS_PER_SECOND = 100;

/** Redacted copies of new events, and how many new ones were over the rate and not shown. */
export type LiveEventsHandler = (events: unknown[], notShown: number) => void;

export interface LiveTap {
  /** New events (redacted copies), in order. */
  push(events: unknown[]): void;
  /** Called on every drain tick; hands on what is due, or everything left when `final` (after the last drain). */
  tick(final?: boolean): void;
}

export function liveTap(onEvents: LiveEventsHandler): LiveTap {
  let pending: unknown[] = [];
  let notShown = 0;
  let tokens = LIVE_EVENTS_PER_SECOND;
  let last = monoNow();
  return {
    push(events) {
      // Never more waiting than one flush may show: the rest is counted, not kept.
      const room = Math.max(0, LIVE_EVENTS_PER_SECOND - pending.length);
      pending.push(...events.slice(0, room));
      notShown += Math.max(0, events.length - room);
    },
    tick(final = false) {
      const since = elapsedMs(last);
      if (!final && since < LIVE_FLUSH_MS) return;
      tokens = Math.min(LIVE_EVENTS_PER_SECOND, tokens + (since / 1000) * LIVE_EVENTS_PER_SECOND);
      last = monoNow();
      if (!pending.length && !notShown) return;
      const shown = pending.slice(0, Math.floor(tokens));
      tokens -= shown.length;
      const over = notShown + pending.length - shown.length;
      pending = [];
      notShown = 0;
      onEvents(shown, over);
    },
  };
}
