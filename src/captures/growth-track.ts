// One growing amount read again and again (a process's own memory by
// memgrowth, a filesystem's used bytes and inodes by fsfill): where it began and ended,
// its peak, and how often it went up or down between readings. Steady growth
// is a climb; ups and downs are a heap. And how grave a climb is: one that
// runs out of room within minutes is what breaks next; anything slower is
// information, never ranked above what slows the service now.
import type { Severity } from '../analysis/types.js';

/** Out of room within this many seconds at its rate: critical; later, information. */
export const SOON_S = 300;
/** A window this short says nothing about a rate. */
export const MIN_SECONDS = 0.5;
/** Steady: down in at most this share of its steps, and at its end within this share of its peak. */
const MAX_FALLS_SHARE = 0.2;
const NEAR_PEAK = 0.9;

export interface Track {
  first: number;
  last: number;
  peak: number;
  firstNs: bigint;
  lastNs: bigint;
  samples: number;
  rises: number;
  falls: number;
}

export const newTrack = (value: number, now: bigint): Track => ({
  first: value,
  last: value,
  peak: value,
  firstNs: now,
  lastNs: now,
  samples: 1,
  rises: 0,
  falls: 0,
});

/** A new reading of `t`. */
export function step(t: Track, value: number, now: bigint): void {
  if (value > t.last) t.rises++;
  else if (value < t.last) t.falls++;
  Object.assign(t, { last: value, peak: Math.max(t.peak, value), lastNs: now, samples: t.samples + 1 });
}

/** What a row of the capture keeps of a track of bytes. */
export const trackRow = (t: Track) => ({
  firstBytes: t.first,
  lastBytes: t.last,
  peakBytes: t.peak,
  growthBytes: t.last - t.first,
  seconds: Number(t.lastNs - t.firstNs) / 1e9,
  samples: t.samples,
  rises: t.rises,
  falls: t.falls,
});

/** Steady: up reading after reading (down in few of its steps), and at its end near its peak. */
export function steadyClimb(samples: number, falls: number, last: number, peak: number): boolean {
  const steps = Math.max(1, samples - 1);
  return falls <= Math.max(1, steps * MAX_FALLS_SHARE) && last >= peak * NEAR_PEAK;
}

/** Critical when a steady climb runs out of room soon; ranked by how soon. */
export const severityOf = (steady: boolean, secondsLeft: number | undefined): Severity =>
  steady && secondsLeft !== undefined && secondsLeft <= SOON_S ? 'critical' : 'info';
export const scoreOf = (severity: Severity, secondsLeft: number | undefined) => (severity === 'critical' ? 10 + SOON_S / Math.max(1, secondsLeft!) : 0.01);
