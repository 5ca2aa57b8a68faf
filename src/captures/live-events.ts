// A streaming capture's events shown as they arrive: what its collector kept
// since the last look, a few times a second, through the same redaction as the
// stored result, at most so many a second (the stored result keeps them all).
import { redactCaptureData, type SecretPattern } from '../redact/index.js';
import { elapsedMs, monoNow } from '../util/clock.js';
import type { Collector } from './capture.js';

/** How often new events are handed on: often enough to feel live, few enough batches for Redis. */
export const LIVE_FLUSH_MS = 250;
/** Per capture and node; an exec storm is counted, not streamed (the report has every event). */
export const LIVE_EVENTS_PER_SECOND = 100;

/** Redacted copies of new events, and how many new ones were over the rate and not shown. */
export type LiveEventsHandler = (events: unknown[], notShown: number) => void;

export interface LiveTap {
  /** Called on every drain tick; `final` hands on everything left now (after the last drain). */
  tick(final?: boolean): void;
}

export function liveTap(collector: Collector<unknown>, onEvents: LiveEventsHandler, redaction?: readonly SecretPattern[]): LiveTap {
  let seen = 0;
  let tokens = LIVE_EVENTS_PER_SECOND;
  let last = monoNow();
  return {
    tick(final = false) {
      const since = elapsedMs(last);
      if (!final && since < LIVE_FLUSH_MS) return;
      tokens = Math.min(LIVE_EVENTS_PER_SECOND, tokens + (since / 1000) * LIVE_EVENTS_PER_SECOND);
      last = monoNow();
      const kept = collector.kept?.() ?? [];
      if (kept.length <= seen) return;
      const fresh = kept.slice(seen);
      seen = kept.length;
      const shown = fresh.slice(0, Math.floor(tokens));
      tokens -= shown.length;
      // Copies: the collector's own events are redacted in place at the end, and may still change (an exec's exit).
      const { data } = redactCaptureData(structuredClone(shown), redaction);
      onEvents(data, fresh.length - shown.length);
    },
  };
}
