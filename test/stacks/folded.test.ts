import { describe, expect, it } from 'vitest';
import { toFolded } from '../../src/stacks/index.js';
import { fixture } from './fixture.js';

describe('folded stacks', () => {
  it('one line per distinct stack, root first, identical stacks merged, ";" escaped', () => {
    expect(toFolded(fixture())).toBe(['app;main;idle 1', `app;main;work;do_sys:weird<&>"name' 3`, 'node;JS:*handler /srv/app.js:10 2', ''].join('\n'));
  });

  it('comm-pid roots and kernel/JIT annotations on request', () => {
    const lines = toFolded(fixture(), { includePid: true, annotate: true }).trim().split('\n');
    expect(lines).toContain(`app-100;main;work;do_sys:weird<&>"name'_[k] 3`);
    expect(lines).toContain('node-200;JS:*handler /srv/app.js:10_[j] 2');
  });

  it('line breaks in names and zero values never break the format', () => {
    const text = toFolded({
      sampleType: { type: 'off-cpu', unit: 'microseconds' },
      samples: [
        { pid: 1, comm: 'a\nb', frames: [{ name: 'x\ny', kind: 'user' }], value: 5 },
        { pid: 1, comm: 'a', frames: [], value: 0 },
      ],
    });
    expect(text).toBe('a b;x y 5\n');
  });
});
