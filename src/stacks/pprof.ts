// A gzipped pprof profile (profile.proto) through pprof-format: one mapping
// per module (file name + build id), one location per distinct frame, one
// function per distinct name in a module, samples leaf first with "pid" and
// "comm" labels. CPU profiles (a period and a count unit) carry a second
// value, cpu/nanoseconds = samples × period, as Go's profiles do.
//
// Frames carry file offsets, not runtime addresses, so every mapping starts at
// 0 with file offset 0: a location's address is its offset in the file, which
// is what a build-id based re-symbolizer needs. Functions are filled in already,
// with file and line where the frame has them (DWARF, Python code objects);
// frames DWARF says were inlined are lines of their caller's location.
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { Frame } from '../symbolize/types.js';
import { cleanName } from './names.js';
import type { StackProfile } from './types.js';

export interface PprofOptions {
  /** When the profile started (default: now). */
  timeNanos?: bigint;
  /** How long it covered. */
  durationNanos?: number;
  /** Free-text comments (e.g. the capture's parameters). */
  comments?: string[];
}

/** The profile as pprof-format objects (toPprof encodes and gzips it). */
export function buildPprof(profile: StackProfile, options: PprofOptions = {}): Profile {
  const strings = new StringTable();
  const str = (s: string) => strings.dedup(s);

  const mappings = new Map<string, Mapping>();
  const mappingLimits = new Map<Mapping, number>();
  const functions = new Map<string, PprofFunction>();
  const locations = new Map<string, Location>();

  function mappingOf(frame: Frame): Mapping | undefined {
    if (!frame.module) return undefined;
    const key = `${frame.module}\0${frame.buildId ?? ''}`;
    let m = mappings.get(key);
    if (!m) {
      m = new Mapping({
        id: mappings.size + 1,
        memoryStart: 0,
        memoryLimit: 0,
        fileOffset: 0,
        filename: str(frame.module),
        buildId: str(frame.buildId ?? ''),
        hasFunctions: true,
      });
      mappings.set(key, m);
    }
    const end = (frame.offset ?? 0) + 1;
    if (end > (mappingLimits.get(m) ?? 0)) mappingLimits.set(m, end);
    return m;
  }

  function functionOf(frame: Frame): PprofFunction {
    const name = cleanName(frame.name);
    const file = frame.file ?? frame.module ?? '';
    const key = `${name}\0${frame.module ?? ''}\0${frame.kind}\0${file}`;
    let f = functions.get(key);
    if (!f) {
      f = new PprofFunction({ id: functions.size + 1, name: str(name), systemName: str(name), filename: str(file) });
      functions.set(key, f);
    }
    return f;
  }

  const lineOf = (frame: Frame) => new Line({ functionId: functionOf(frame).id, line: frame.line ?? 0 });
  const frameKey = (frame: Frame) =>
    `${frame.kind}\0${frame.module ?? ''}\0${frame.buildId ?? ''}\0${frame.offset ?? ''}\0${frame.name}\0${frame.file ?? ''}\0${frame.line ?? ''}`;

  /** One location: `frame` and the calls inlined into it at that address (innermost first). */
  function locationOf(frame: Frame, inlined: Frame[]): Location {
    const key = [...inlined, frame].map(frameKey).join('\u0001');
    let loc = locations.get(key);
    if (!loc) {
      const mapping = mappingOf(frame);
      loc = new Location({
        id: locations.size + 1,
        mappingId: mapping?.id ?? 0,
        address: frame.offset ?? 0,
        line: [...inlined.map(lineOf), lineOf(frame)],
      });
      locations.set(key, loc);
    }
    return loc;
  }

  /** Location ids leaf first; inlined frames join the location of the function they were inlined into. */
  function locationIds(frames: Frame[]): number[] {
    const ids: number[] = [];
    let inlined: Frame[] = [];
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i] as Frame;
      if (f.inlined && i > 0) {
        inlined.push(f);
        continue;
      }
      ids.push(locationOf(f, inlined).id as number);
      inlined = [];
    }
    return ids;
  }

  const cpu = profile.periodNs !== undefined && profile.periodNs > 0 && profile.sampleType.unit === 'count';
  const sampleTypes = [new ValueType({ type: str(profile.sampleType.type), unit: str(profile.sampleType.unit) })];
  if (cpu) sampleTypes.push(new ValueType({ type: str('cpu'), unit: str('nanoseconds') }));

  // Identical stacks of one process merge into one sample.
  const samples = new Map<string, Sample>();
  const pidKey = str('pid');
  const commKey = str('comm');
  for (const s of profile.samples) {
    if (!(s.value > 0)) continue;
    const ids = locationIds(s.frames);
    const key = `${s.pid}\0${s.comm}\0${ids.join(',')}`;
    const existing = samples.get(key);
    if (existing) {
      existing.value[0] = (existing.value[0] as number) + s.value;
      if (cpu) existing.value[1] = (existing.value[1] as number) + s.value * (profile.periodNs as number);
      continue;
    }
    samples.set(
      key,
      new Sample({
        locationId: ids,
        value: cpu ? [s.value, s.value * (profile.periodNs as number)] : [s.value],
        label: [new Label({ key: pidKey, num: s.pid }), new Label({ key: commKey, str: str(cleanName(s.comm)) })],
      }),
    );
  }
  for (const [m, limit] of mappingLimits) m.memoryLimit = limit;

  return new Profile({
    sampleType: sampleTypes,
    sample: [...samples.values()],
    mapping: [...mappings.values()],
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    timeNanos: options.timeNanos ?? BigInt(Date.now()) * 1_000_000n,
    durationNanos: options.durationNanos ?? 0,
    ...(cpu ? { periodType: new ValueType({ type: str('cpu'), unit: str('nanoseconds') }), period: profile.periodNs } : {}),
    comment: (options.comments ?? []).map(str),
  });
}

/** The gzipped profile.proto bytes (what `go tool pprof` and Pyroscope read). */
export function toPprof(profile: StackProfile, options: PprofOptions = {}): Buffer {
  return gzipSync(buildPprof(profile, options).encode());
}
