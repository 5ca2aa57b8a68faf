// The data of a stacks-kind result (profile, offcputime), and what every
// stack output (folded, pprof, flame graph SVG, speedscope) is made from.
import type { Frame } from '../symbolize/types.js';

export interface StackSample {
  pid: number;
  comm: string;
  /** Root first, leaf last: user frames below kernel frames, as flame graphs draw them. */
  frames: Frame[];
  /** Samples (profile) or microseconds blocked (offcputime). */
  value: number;
}

export interface StackProfile {
  /** What `value` counts, e.g. { type: 'samples', unit: 'count' } or { type: 'off-cpu', unit: 'microseconds' }. */
  sampleType: { type: string; unit: string };
  /** For CPU profiles: nanoseconds between samples (1e9 / frequency). */
  periodNs?: number;
  samples: StackSample[];
}
