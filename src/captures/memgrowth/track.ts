// One growing amount read again and again (a process's own memory, a tmpfs's
// used bytes): where it began and ended, its peak, and how often it went up
// or down between readings. Steady growth is a climb; ups and downs are a heap.

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

export const newTrack = (bytes: number, now: bigint): Track => ({
  first: bytes,
  last: bytes,
  peak: bytes,
  firstNs: now,
  lastNs: now,
  samples: 1,
  rises: 0,
  falls: 0,
});

/** A new reading of `t`. */
export function step(t: Track, bytes: number, now: bigint): void {
  if (bytes > t.last) t.rises++;
  else if (bytes < t.last) t.falls++;
  Object.assign(t, { last: bytes, peak: Math.max(t.peak, bytes), lastNs: now, samples: t.samples + 1 });
}

/** What a row of the capture keeps of a track. */
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
