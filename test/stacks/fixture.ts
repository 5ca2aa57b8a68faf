// A small hand-made profile for the output tests: two stacks of "app" (3, given
// as 2 + 1 to be merged, and 1) and one JIT stack of "node" (2): total 6.
import type { StackProfile } from '../../src/stacks/types.js';
import type { Frame } from '../../src/symbolize/types.js';

export const BUILD_ID = '0123456789abcdef0123456789abcdef01234567';
export const WEIRD = 'do_sys;weird<&>"name\'';

export const main: Frame = { name: 'main', kind: 'user', module: 'app', offset: 0x1100, buildId: BUILD_ID };
export const work: Frame = { name: 'work', kind: 'user', module: 'app', offset: 0x1200, buildId: BUILD_ID };
export const idle: Frame = { name: 'idle', kind: 'user', module: 'app', offset: 0x1300, buildId: BUILD_ID };
export const weird: Frame = { name: WEIRD, kind: 'kernel', module: '[kernel]', offset: 0x42 };
export const jit: Frame = { name: 'JS:*handler /srv/app.js:10', kind: 'jit' };

export const PERIOD_NS = 10_000_000;

export function fixture(): StackProfile {
  return {
    sampleType: { type: 'samples', unit: 'count' },
    periodNs: PERIOD_NS,
    samples: [
      { pid: 100, comm: 'app', frames: [main, work, weird], value: 2 },
      { pid: 100, comm: 'app', frames: [main, idle], value: 1 },
      { pid: 200, comm: 'node', frames: [jit], value: 2 },
      { pid: 100, comm: 'app', frames: [main, work, weird], value: 1 },
    ],
  };
}

export const TOTAL = 6;
