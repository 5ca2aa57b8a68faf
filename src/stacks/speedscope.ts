// speedscope's file format (https://www.speedscope.app/file-format-schema.json):
// frames shared by every profile, "sampled" profiles whose samples are lists
// of frame indices, root first, with one weight each. The process (comm) is
// the root frame of every stack, as in the flame graph; with perProcess each
// pid gets its own profile instead.
import type { Frame } from '../symbolize/types.js';
import { cleanName, processName, totalValue } from './names.js';
import type { StackProfile, StackSample } from './types.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export type SpeedscopeUnit = 'none' | 'nanoseconds' | 'microseconds' | 'milliseconds' | 'seconds' | 'bytes';

export interface SpeedscopeFrame {
  name: string;
  /** The module (binary, library, "[kernel]"), when known. */
  file?: string;
}

export interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: SpeedscopeUnit;
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name?: string;
  activeProfileIndex?: number;
  exporter?: string;
}

export interface SpeedscopeOptions {
  /** Name of the profile group (default: the sample type). */
  name?: string;
  /** One profile per pid (largest first) instead of one with a root frame per process. */
  perProcess?: boolean;
  includePid?: boolean;
}

const UNITS: ReadonlySet<string> = new Set(['nanoseconds', 'microseconds', 'milliseconds', 'seconds', 'bytes']);

export function speedscopeUnit(unit: string): SpeedscopeUnit {
  return UNITS.has(unit) ? (unit as SpeedscopeUnit) : 'none';
}

export function buildSpeedscope(profile: StackProfile, options: SpeedscopeOptions = {}): SpeedscopeFile {
  const frames: SpeedscopeFrame[] = [];
  const frameIndex = new Map<string, number>();
  const indexOf = (name: string, file: string | undefined, kind: string): number => {
    const key = `${kind}\0${file ?? ''}\0${name}`;
    let i = frameIndex.get(key);
    if (i === undefined) {
      i = frames.length;
      frames.push(file ? { name, file } : { name });
      frameIndex.set(key, i);
    }
    return i;
  };
  const unit = speedscopeUnit(profile.sampleType.unit);
  const includePid = options.includePid ?? options.perProcess ?? false;

  const groups = new Map<string, StackSample[]>();
  for (const s of profile.samples) {
    if (!(s.value > 0)) continue;
    const key = options.perProcess ? `${s.pid}` : 'all';
    const list = groups.get(key);
    if (list) list.push(s);
    else groups.set(key, [s]);
  }

  const profiles: SpeedscopeSampledProfile[] = [];
  for (const samples of groups.values()) {
    // Identical stacks merge: one entry, summed weight.
    const merged = new Map<string, { stack: number[]; weight: number }>();
    for (const s of samples) {
      const stack = [indexOf(processName(s, includePid), undefined, 'process')];
      for (const f of s.frames as Frame[]) stack.push(indexOf(cleanName(f.name), f.module, f.kind));
      const key = stack.join(',');
      const m = merged.get(key);
      if (m) m.weight += s.value;
      else merged.set(key, { stack, weight: s.value });
    }
    const entries = [...merged.values()];
    const total = totalValue(samples);
    const first = samples[0] as StackSample;
    profiles.push({
      type: 'sampled',
      name: options.perProcess ? `${cleanName(first.comm)} (pid ${first.pid})` : (options.name ?? profile.sampleType.type),
      unit,
      startValue: 0,
      endValue: total,
      samples: entries.map((e) => e.stack),
      weights: entries.map((e) => e.weight),
    });
  }
  profiles.sort((a, b) => b.endValue - a.endValue);

  return {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles,
    name: options.name ?? `${profile.sampleType.type} (${profile.sampleType.unit})`,
    activeProfileIndex: 0,
    exporter: 'sherlock',
  };
}

/** The speedscope JSON text. */
export function toSpeedscope(profile: StackProfile, options: SpeedscopeOptions = {}): string {
  return JSON.stringify(buildSpeedscope(profile, options));
}
