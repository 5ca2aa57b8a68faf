// Python frame naming without a kernel: the line table (3.11+) read against
// the interpreter's own answer (co_lines() of Debian's python3, and of the
// 3.13 and 3.14 scripts/fetch-test-pythons.sh unpacks), and the eval-loop
// interleaving on hand-made stacks.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { interleavePython, lineOfInstruction, type PythonFrame } from '../../src/symbolize/python/index.js';
import type { Frame } from '../../src/symbolize/types.js';
import { testPythons } from '../helpers/pythons.js';

/** Functions with long jumps, multi-line expressions, blank lines and a nested def: every kind of entry. */
const SOURCE = String.raw`
import json, sys
def sample(a, b):
    x = [i * a
         for i in range(b)]


    if a > b:
        return (a +
                b)
    try:
        y = {k: v for k, v in zip(x, x)}
    except Exception:
        y = None
    def inner():
        return y
    for _ in range(3):
        pass
    return inner()
out = []
for code in [sample.__code__] + [c for c in sample.__code__.co_consts if hasattr(c, 'co_lines')]:
    out.append({'table': code.co_linetable.hex(), 'first': code.co_firstlineno,
                'lines': [[s // 2, e // 2, l] for s, e, l in code.co_lines()]})
print(json.dumps(out))
`;

describe.each(testPythons())('the line table of CPython $version', ({ python, skip }) => {
  it.skipIf(skip)(`gives the line CPython gives for every instruction${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const codes = JSON.parse(execFileSync(python, ['-c', SOURCE], { encoding: 'utf8', timeout: 30_000 })) as {
      table: string;
      first: number;
      lines: [number, number, number | null][];
    }[];
    expect(codes.length).toBeGreaterThan(1);
    let checked = 0;
    for (const c of codes) {
      const table = Buffer.from(c.table, 'hex');
      for (const [start, end, line] of c.lines)
        for (let unit = start; unit < end; unit++) {
          expect(lineOfInstruction(table, c.first, unit) ?? null).toBe(line);
          checked++;
        }
    }
    expect(checked).toBeGreaterThan(50);
  });
});

const native = (name: string): Frame => ({ name, kind: 'user', module: 'python3.11' });
const py = (name: string, entry = false): PythonFrame => ({ name, file: '/srv/app.py', line: 7, entry });

describe('interleaving Python frames with native ones', () => {
  it('puts each eval-loop call its own Python frames and keeps the C between them', () => {
    // Root first: main → eval → vectorcall → eval → builtin.
    const stack = ['_start', 'main', '_PyEval_EvalFrameDefault', '_PyFunction_Vectorcall', '_PyEval_EvalFrameDefault', 'builtin_sum'].map(native);
    // Leaf first: inner eval ran f ← g (g its entry); the outer one ran h ← <module>.
    const frames = interleavePython(stack, [py('f'), py('g', true), py('h'), py('<module>', true)]);
    expect(frames.map((f) => f.name)).toEqual(['_start', 'main', '<module>', 'h', '_PyFunction_Vectorcall', 'g', 'f', 'builtin_sum']);
    expect(frames.find((f) => f.name === 'f')).toMatchObject({ file: '/srv/app.py', line: 7, module: 'app.py' });
  });

  it('puts Python frames the native walk did not reach below the label that says why it stopped', () => {
    const gap: Frame = { name: '[truncated at depth 3]', kind: 'unknown' };
    const frames = interleavePython([gap, native('_PyEval_EvalFrameDefault'), native('leaf')], [py('f', true), py('outer', true)]);
    expect(frames.map((f) => f.name)).toEqual(['[truncated at depth 3]', 'outer', 'f', 'leaf']);
  });

  it('leaves a stack without Python frames as it is', () => {
    const stack = [native('main'), native('_PyEval_EvalFrameDefault')];
    expect(interleavePython(stack, [])).toBe(stack);
  });
});
