import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import { toPprof } from '../../src/stacks/index.js';
import { BUILD_ID, fixture, PERIOD_NS, TOTAL, WEIRD } from './fixture.js';

function decode(bytes: Buffer): { profile: Profile; s: (i: unknown) => string } {
  const profile = Profile.decode(gunzipSync(bytes));
  return { profile, s: (i) => profile.stringTable.strings[Number(i)] as string };
}

describe('pprof', () => {
  it('decodes back: totals, sample types, period, functions, mappings, labels, leaf-first locations', () => {
    const { profile, s } = decode(toPprof(fixture(), { durationNanos: 1_000_000_000 }));
    expect(profile.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`)).toEqual(['samples/count', 'cpu/nanoseconds']);
    expect(profile.sample.reduce((sum, x) => sum + Number(x.value[0]), 0)).toBe(TOTAL);
    expect(profile.sample.reduce((sum, x) => sum + Number(x.value[1]), 0)).toBe(TOTAL * PERIOD_NS);
    expect(Number(profile.period)).toBe(PERIOD_NS);
    expect(`${s(profile.periodType?.type)}/${s(profile.periodType?.unit)}`).toBe('cpu/nanoseconds');
    expect(profile.sample).toHaveLength(3); // the two identical app stacks merged

    const fnName = new Map(profile.function.map((f) => [Number(f.id), s(f.name)]));
    expect(new Set(fnName.values())).toEqual(new Set(['main', 'work', 'idle', WEIRD, 'JS:*handler /srv/app.js:10']));
    const locFn = new Map(profile.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0]?.functionId))]));
    const stacks = profile.sample.map((x) => ({
      names: x.locationId.map((id) => locFn.get(Number(id))),
      value: Number(x.value[0]),
      labels: Object.fromEntries(x.label.map((l) => [s(l.key), Number(l.str) ? s(l.str) : Number(l.num)])),
    }));
    expect(stacks).toContainEqual({ names: [WEIRD, 'work', 'main'], value: 3, labels: { pid: 100, comm: 'app' } });
    expect(stacks).toContainEqual({ names: ['idle', 'main'], value: 1, labels: { pid: 100, comm: 'app' } });
    expect(stacks).toContainEqual({ names: ['JS:*handler /srv/app.js:10'], value: 2, labels: { pid: 200, comm: 'node' } });

    const mappings = profile.mapping.map((m) => ({ file: s(m.filename), buildId: s(m.buildId) }));
    expect(mappings).toContainEqual({ file: 'app', buildId: BUILD_ID });
    expect(mappings).toContainEqual({ file: '[kernel]', buildId: '' });
    const work = profile.location.find((l) => locFn.get(Number(l.id)) === 'work');
    expect(Number(work?.address)).toBe(0x1200);
    expect(Number(profile.durationNanos)).toBe(1_000_000_000);
  });

  it('an off-CPU profile has one sample type, its own unit, and no period', () => {
    const p = fixture();
    const { profile, s } = decode(toPprof({ ...p, sampleType: { type: 'off-cpu', unit: 'microseconds' }, periodNs: undefined }));
    expect(profile.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`)).toEqual(['off-cpu/microseconds']);
    expect(profile.sample.reduce((sum, x) => sum + Number(x.value[0]), 0)).toBe(TOTAL);
    expect(Number(profile.period)).toBe(0);
  });
});
