// Python frames in profile and offcputime, on the real kernel with Debian's
// CPythons (/usr/bin/python3, 3.11; 3.13 and 3.14 unpacked by
// scripts/fetch-test-pythons.sh): the Python functions, with file and line,
// stand where the interpreter's eval loop was, in the data, the text, folded
// and pprof read back by the pprof-format package's reader.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
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
import { testPythons } from '../helpers/pythons.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

/**
 * <module> → Worker.run_z8 → caller_m2 → hot_inner_k4 for argv[1] ms; a second thread sleeps in
 * doze_q7, which nap_p5 calls through C (map), so a native call stands between two Python frames.
 */
const SCRIPT = `import sys, threading, time

def hot_inner_k4(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x

def caller_m2():
    return hot_inner_k4(20000)

def doze_q7(seconds):
    time.sleep(seconds)

def nap_p5(end):
    while time.monotonic() < end:
        list(map(doze_q7, [0.02]))

class Worker:
    def run_z8(self, end):
        s = 0
        while time.monotonic() < end:
            s += caller_m2()
        return s

end = time.monotonic() + float(sys.argv[1]) / 1000
t = threading.Thread(target=nap_p5, args=(end,))
t.start()
if len(sys.argv) > 2:
    open(sys.argv[2], 'w').close()
Worker().run_z8(end)
t.join()
`;

const names = (s: StackSample) => s.frames.map((f) => f.name);

function hasChain(s: StackSample, chain: string[]): boolean {
  const n = names(s);
  return n.some((_, i) => chain.every((c, j) => n[i + j] === c));
}

/** The names appear in this order, root first (other frames may stand between). */
function inOrder(s: StackSample, chain: string[]): boolean {
  let at = 0;
  for (const name of names(s)) if (name === chain[at]) at++;
  return at === chain.length;
}

/** `caller`, then one or more native frames (the C call), then `callee`. */
function hasCallThroughC(s: StackSample, caller: string, callee: string): boolean {
  const f = s.frames;
  const i = f.findIndex((x) => x.name === caller);
  const j = f.findIndex((x, k) => k > i && x.name === callee);
  if (i < 0 || j < i + 2) return false;
  return f.slice(i + 1, j).every((x) => !x.file?.endsWith('.py') && x.name !== '_PyEval_EvalFrameDefault');
}

describe.each(testPythons())('Python frames, CPython $version', ({ version, python, comm, skip: noPython }) => {
  const skip = kernelSkipReason() ?? noPython;
  if (skip) {
    it.skip(`skipped: ${skip}`, () => {});
    return;
  }
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
    // Captured once the script runs its loop: on a loaded machine the interpreter's start-up (native,
    // before the runtime is found) could otherwise outweigh the hot function.
    const ready = join(tmp.path, 'ready');
    rmSync(ready, { force: true });
    const child = start(python, [script, '2500', ready]);
    for (let i = 0; i < 200 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
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
    // Targeted by pid, the process is noted before the first sample: every sample of its loop is walked
    // (0.996-0.999 here; noted only when announced, its first drains went unwalked: 0.955-0.987 when quiet).
    expect(withChain / total).toBeGreaterThan(0.98);
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
    expect(text).toContain(`Python frames (CPython ${version}) in `);
    const firstRow = text.split('\n').find((l) => /^\s*\d+\s+[\d.]+%/.test(l));
    expect(firstRow).toMatch(/sherlock_hot\.py\s+hot_inner_k4$/);
    expect(renderStackOutput(result, 'folded')).toContain(`;${chain.join(';')}`);
    // The flame graph draws it, its tooltip with the file.
    expect(renderStackOutput(result, 'svg')).toContain(`<title>hot_inner_k4 [${script}]`);

    // The run's CPU finding names the Python function and its file.
    const findings = analyzeRun({ run: run(), results: [on(resultOf('profile', { ...result, stacks: mine, total }))] });
    expect(findings.find((f) => f.evidence.pid === child.pid)?.title).toContain(` in hot_inner_k4 (sherlock_hot.py) in ${comm} `);

    // pprof: function name, file and line, read back.
    const p = Profile.decode(gunzipSync(renderStackOutput(result, 'pprof')));
    const str = p.stringTable.strings;
    const fn = p.function.find((f) => str[Number(f.name)] === 'hot_inner_k4');
    expect(fn && str[Number(fn.filename)]).toBe(script);
    const lines = p.location.flatMap((l) => l.line).filter((l) => l.functionId === fn!.id);
    expect(lines.some((l) => Number(l.line) === 5 || Number(l.line) === 6)).toBe(true);
  });

  it('offcputime: a sleeping Python thread names the function it sleeps in, with the C call between nap_p5 and doze_q7', async () => {
    const child = start(python, [script, '2500']);
    // time.sleep sleeps in clock_nanosleep, an idle syscall: counted only when asked for.
    const { result } = await captureDuring(offcputime, async () => void (await new Promise((r) => setTimeout(r, 1500))), {
      target: { pid: [child.pid] },
      params: { idleSyscalls: true },
    });
    await child.done;
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    // The thread's Python frames, from the threading module down.
    // (3.14 calls Thread.run from _bootstrap_inner through C: only the order is the same everywhere.)
    expect(mine.some((s) => inOrder(s, ['Thread._bootstrap', 'Thread._bootstrap_inner', 'Thread.run', 'nap_p5', 'doze_q7']))).toBe(true);
    // nap_p5 calls doze_q7 through C (map, a second eval loop): the native frames stay between them.
    expect(mine.some((s) => hasCallThroughC(s, 'nap_p5', 'doze_q7'))).toBe(true);
    expect(renderStackOutput(result, 'folded')).toMatch(/;doze_q7;[^ ]*(select|nanosleep|sleep)/);
  });
});
