// JavaScript frames in profile, on the real kernel with Debian's node (no
// --perf-basic-prof): the functions of a V8 process's JIT and interpreter
// frames are named from its objects (v8dbg_ constants), with their script;
// time in V8's own code (a regular expression's matcher) counts for the
// JavaScript function that called it.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../src/captures/profile/index.js';
import { renderStackOutput } from '../../src/captures/stack-family/outputs.js';
import { findV8Runtime } from '../../src/symbolize/v8/index.js';
import type { StackSample } from '../../src/stacks/types.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { on, result as resultOf, run } from '../analysis/fixtures.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

/**
 * argv[2]: "spin" spins in spinLoopK4 (called by tickM2 on each turn of the event loop), "regex" runs a backtracking
 * pattern in checkInputR9, "hash" derives a key in hashSecretP3 (OpenSSL's SHA-512 in AVX2, which keeps its caller's
 * sp below its own: the stack copy starts below sp).
 */
const SCRIPT = `const [ms, mode, ready] = process.argv.slice(2);
function spinLoopK4(slice) {
  const end = Date.now() + slice;
  let x = 0;
  while (Date.now() < end) x = (x * 31 + 7) % 1000003;
  return x;
}
const pattern = /^(a+)+$/;
function checkInputR9(input) {
  return pattern.test(input);
}
function hashSecretP3(secret) {
  return require('crypto').pbkdf2Sync(secret, 'salt', 5000, 64, 'sha512');
}
const until = Date.now() + Number(ms);
function tickM2() {
  if (mode === 'spin') spinLoopK4(20);
  else if (mode === 'hash') hashSecretP3('secret');
  else checkInputR9('a'.repeat(20) + '!');
  if (Date.now() < until) setImmediate(() => tickM2());
}
require('fs').writeFileSync(ready, '');
tickM2();
`;

const skip = kernelSkipReason() ?? (findV8Runtime(process.pid)?.found ? undefined : `this node (${process.execPath}) exports no V8 postmortem constants`);

describe.skipIf(skip)(`JavaScript frames${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let script: string;

  beforeAll(() => {
    tmp = new TempDir();
    script = join(tmp.path, 'sherlock_hot.js');
    writeFileSync(script, SCRIPT);
  });
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  /** Profiles the script in `mode` for 1.5 s once it runs; its samples. */
  async function profiled(mode: string) {
    const ready = join(tmp.path, `ready-${mode}`);
    rmSync(ready, { force: true });
    const child = start(process.execPath, [script, '3000', mode, ready]);
    for (let i = 0; i < 200 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
    const { result, programIds } = await captureDuring(profile, async () => void (await new Promise((r) => setTimeout(r, 1500))), {
      params: { frequency: 499 },
      target: { pid: [child.pid] },
    });
    await child.done;
    expect(stillLoaded(programIds)).toEqual([]);
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    const total = mine.reduce((a, s) => a + s.value, 0);
    expect(total).toBeGreaterThan(100);
    return { result, mine, total, pid: child.pid };
  }
  const share = (stacks: StackSample[], total: number, test: (s: StackSample) => boolean) => stacks.filter(test).reduce((a, s) => a + s.value, 0) / total;

  it('profile: the hot JavaScript function and its caller, with their script, where "[JIT code]" stood', async () => {
    const { result, mine, total, pid } = await profiled('spin');
    const spin = (s: StackSample) => s.frames.some((f) => f.name === 'spinLoopK4' && f.kind === 'jit' && f.file === script && f.module === 'sherlock_hot.js');
    // Nearly every sample is in the loop (Date.now's builtin under it included), named.
    expect(share(mine, total, spin)).toBeGreaterThan(0.8);
    // Its caller, rootward of it, named too.
    const names = (s: StackSample) => s.frames.map((f) => f.name);
    expect(mine.some((s) => spin(s) && names(s).indexOf('tickM2') >= 0 && names(s).indexOf('tickM2') < names(s).indexOf('spinLoopK4'))).toBe(true);
    // Lines: where each function starts in the script; an anonymous function is named by its line.
    const lineOf = (text: string) => SCRIPT.split('\n').findIndex((l) => l.includes(text)) + 1;
    const frames = mine.flatMap((s) => s.frames);
    expect(frames.find((f) => f.name === 'spinLoopK4')?.line).toBe(lineOf('function spinLoopK4'));
    expect(frames.find((f) => f.name === 'tickM2')?.line).toBe(lineOf('function tickM2'));
    const arrow = `(anonymous, line ${lineOf('setImmediate(() => tickM2())')})`;
    expect(mine.some((s) => s.frames.some((f) => f.name === arrow && f.file === script))).toBe(true);
    expect(result.unwind?.js?.processes[pid]).toBe(process.execPath);
    expect(profile.text!(result)).toMatch(/JavaScript frames named from V8's objects: \d+ in \d+ process/);
    expect(renderStackOutput(result, 'folded')).toContain(';tickM2;spinLoopK4');

    const findings = analyzeRun({ run: run(), results: [on(resultOf('profile', { ...result, stacks: mine, total }))] });
    expect(findings.find((f) => f.evidence.pid === pid)?.title).toContain(' in spinLoopK4 (sherlock_hot.js) in node ');
  });

  it('profile: time in a native library under a JavaScript function (OpenSSL hashing for pbkdf2Sync) counts for it', async () => {
    const { mine, total } = await profiled('hash');
    const hashing = (s: StackSample) => s.frames.some((f) => f.name === 'hashSecretP3' && f.file === script);
    // SHA-512's AVX2 loop is most of it: its frame is stepped by the caller's sp it keeps below its own.
    expect(share(mine, total, hashing)).toBeGreaterThan(0.8);
    expect(share(mine, total, (s) => s.frames.some((f) => /^sha512_block_data_order/.test(f.name)) && hashing(s))).toBeGreaterThan(0.2);
  });

  it("profile: a backtracking regular expression's time counts for the function that runs it, and the finding says so", async () => {
    const { result, mine, total, pid } = await profiled('regex');
    const regex = (s: StackSample) => s.frames.some((f) => f.name === 'checkInputR9' && f.file === script);
    expect(share(mine, total, regex)).toBeGreaterThan(0.8);
    const findings = analyzeRun({ run: run(), results: [on(resultOf('profile', { ...result, stacks: mine, total }))] });
    const title = findings.find((f) => f.evidence.pid === pid)?.title ?? '';
    expect(title).toMatch(/ in checkInputR9 \(sherlock_hot\.js\) in node \(pid \d+\) \(threshold \d+%\), \d+% of them matching a regular expression it runs; /);
    expect(title).toContain('backtracks exponentially');
  });
});
