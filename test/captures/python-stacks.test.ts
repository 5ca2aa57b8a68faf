// Python frames in profile and offcputime, on the real kernel with Debian's
// CPython (/usr/bin/python3, 3.11): the Python functions, with file and
// line, stand where the interpreter's eval loop was, in the data, the text,
// folded and pprof read back by the pprof-format package's reader.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { offcputime } from '../../src/captures/offcputime/index.js';
import { profile } from '../../src/captures/profile/index.js';
import { renderStackOutput } from '../../src/captures/stack-family/outputs.js';
import type { StackSample } from '../../src/stacks/types.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { on, result as resultOf, run } from '../analysis/fixtures.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const PYTHON = '/usr/bin/python3';
const skip = kernelSkipReason() ?? (existsSync(PYTHON) ? undefined : `${PYTHON} is not installed`);

/** <module> → Worker.run_z8 → caller_m2 → hot_inner_k4 for argv[1] ms; a second thread sleeps in nap_p5. */
const SCRIPT = `import sys, threading, time

def hot_inner_k4(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x

def caller_m2():
    return hot_inner_k4(20000)

def nap_p5(end):
    while time.monotonic() < end:
        time.sleep(0.02)

class Worker:
    def run_z8(self, end):
        s = 0
        while time.monotonic() < end:
            s += caller_m2()
        return s

end = time.monotonic() + float(sys.argv[1]) / 1000
t = threading.Thread(target=nap_p5, args=(end,))
t.start()
Worker().run_z8(end)
t.join()
`;

const names = (s: StackSample) => s.frames.map((f) => f.name);

function hasChain(s: StackSample, chain: string[]): boolean {
  const n = names(s);
  return n.some((_, i) => chain.every((c, j) => n[i + j] === c));
}

describe.skipIf(skip)(`Python frames${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let script: string;

  beforeAll(() => {
    tmp = new TempDir();
    script = join(tmp.path, 'sherlock_hot.py');
    writeFileSync(script, SCRIPT);
  });
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('profile: the hot Python function and its callers, with file and line, in place of _PyEval_EvalFrameDefault', async () => {
    const child = start(PYTHON, [script, '2500']);
    // The process is announced by its first sample; its frames are walked from then on.
    const { result, programIds } = await captureDuring(profile, async () => void (await new Promise((r) => setTimeout(r, 1500))), {
      params: { frequency: 499 },
      target: { pid: [child.pid] },
    });
    await child.done;
    expect(stillLoaded(programIds)).toEqual([]);
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    const total = mine.reduce((a, s) => a + s.value, 0);
    expect(total).toBeGreaterThan(50);
    const chain = ['<module>', 'Worker.run_z8', 'caller_m2', 'hot_inner_k4'];
    const withChain = mine.filter((s) => hasChain(s, chain)).reduce((a, s) => a + s.value, 0);
    expect(withChain / total).toBeGreaterThan(0.5);
    // The Python frames replace the eval loop: in a walked stack no _PyEval_EvalFrameDefault is left.
    expect(mine.filter((s) => hasChain(s, chain)).some((s) => names(s).includes('_PyEval_EvalFrameDefault'))).toBe(false);
    // File and line: hot_inner_k4's loop is on lines 5-6 of the script.
    const hot = mine.flatMap((s) => s.frames).filter((f) => f.name === 'hot_inner_k4');
    expect(hot.every((f) => f.file === script && f.module === 'sherlock_hot.py')).toBe(true);
    expect(hot.some((f) => f.line === 5 || f.line === 6)).toBe(true);
    expect(mine.flatMap((s) => s.frames).find((f) => f.name === 'caller_m2')?.line).toBe(10);
    // Below the Python frames, the interpreter's native entry: the stack still reaches _start.
    expect(mine.some((s) => s.frames[0]?.name === '_start' && hasChain(s, chain))).toBe(true);

    // The top function of the text is the Python one.
    const text = profile.text!(result);
    expect(text).toMatch(/Python frames \(CPython 3\.11\) in \d+ of \d+ user stacks/);
    const firstRow = text.split('\n').find((l) => /^\s*\d+\s+[\d.]+%/.test(l));
    expect(firstRow).toMatch(/sherlock_hot\.py\s+hot_inner_k4$/);
    expect(renderStackOutput(result, 'folded')).toContain(`;${chain.join(';')}`);
    // The flame graph draws it, its tooltip with the file.
    expect(renderStackOutput(result, 'svg')).toContain(`<title>hot_inner_k4 [${script}]`);

    // The run's CPU finding names the Python function and its file.
    const findings = analyzeRun({ run: run(), results: [on(resultOf('profile', { ...result, stacks: mine, total }))] });
    expect(findings.find((f) => f.evidence.pid === child.pid)?.title).toMatch(/ in hot_inner_k4 \(sherlock_hot\.py\) in python3 /);

    // pprof: function name, file and line, read back.
    const p = Profile.decode(gunzipSync(renderStackOutput(result, 'pprof')));
    const str = p.stringTable.strings;
    const fn = p.function.find((f) => str[Number(f.name)] === 'hot_inner_k4');
    expect(fn && str[Number(fn.filename)]).toBe(script);
    const lines = p.location.flatMap((l) => l.line).filter((l) => l.functionId === fn!.id);
    expect(lines.some((l) => Number(l.line) === 5 || Number(l.line) === 6)).toBe(true);
  });

  it('offcputime: a sleeping Python thread names the function it sleeps in, with the C call between Thread.run and its target', async () => {
    const child = start(PYTHON, [script, '2500']);
    const { result } = await captureDuring(offcputime, async () => void (await new Promise((r) => setTimeout(r, 1500))), {
      target: { pid: [child.pid] },
    });
    await child.done;
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    // Thread.run calls its target through C (a second eval loop): the native frame stays between them.
    expect(mine.some((s) => hasChain(s, ['Thread._bootstrap', 'Thread._bootstrap_inner', 'Thread.run', '_PyFunction_Vectorcall', 'nap_p5']))).toBe(true);
    expect(renderStackOutput(result, 'folded')).toMatch(/;nap_p5;[^ ]*(select|nanosleep|sleep)/);
  });
});
