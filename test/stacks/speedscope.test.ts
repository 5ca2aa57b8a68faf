import { describe, expect, it } from 'vitest';
import { toSpeedscope, type SpeedscopeFile } from '../../src/stacks/index.js';
import { fixture, TOTAL, WEIRD } from './fixture.js';

describe('speedscope JSON', () => {
  it('one sampled profile with shared frames; weights sum to the total; stacks root first', () => {
    const file = JSON.parse(toSpeedscope(fixture())) as SpeedscopeFile;
    expect(file.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(file.profiles).toHaveLength(1);
    const [p] = file.profiles;
    expect(p?.type).toBe('sampled');
    expect(p?.unit).toBe('none');
    expect(p?.weights.reduce((a, b) => a + b, 0)).toBe(TOTAL);
    expect(p?.endValue).toBe(TOTAL);
    expect(p?.samples).toHaveLength(p?.weights.length as number);
    const names = file.shared.frames.map((f) => f.name);
    expect(new Set(names)).toEqual(new Set(['app', 'node', 'main', 'work', 'idle', WEIRD, 'JS:*handler /srv/app.js:10']));
    const stacks = p?.samples.map((s, i) => `${s.map((k) => names[k]).join('/')} ${p.weights[i]}`);
    expect(stacks?.sort()).toEqual([`app/main/idle 1`, `app/main/work/${WEIRD} 3`, 'node/JS:*handler /srv/app.js:10 2']);
    expect(file.shared.frames.find((f) => f.name === 'work')?.file).toBe('app');
  });

  it('per process: one profile per pid, largest first; time units carried over', () => {
    const file = JSON.parse(toSpeedscope({ ...fixture(), sampleType: { type: 'off-cpu', unit: 'microseconds' } }, { perProcess: true })) as SpeedscopeFile;
    expect(file.profiles.map((p) => [p.name, p.endValue, p.unit])).toEqual([
      ['app (pid 100)', 4, 'microseconds'],
      ['node (pid 200)', 2, 'microseconds'],
    ]);
  });
});
