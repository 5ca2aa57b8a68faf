// Python frames walked in the kernel at each sample: what it costs a
// CPU-bound CPython 3.11 program (its own CPU time, getrusage, untraced vs
// under profile at 99 Hz, alternating pairs) and how many of its samples come
// out with the Python function named in place of the eval loop.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { profile } from '../src/captures/profile/index.js';
import { runCapture } from '../src/captures/run-capture.js';
import { runTimed, TempDir, type TimedRun } from './processes.js';
import { alternatingPairs, fmtMs, fmtRatio, kv, median, note, numericColumns, section, table, verdict } from './report.js';

const PYTHON = '/usr/bin/python3';
const FREQUENCY = 99;
const PAIRS = 5;

/** Deep enough to matter (a 20-frame Python stack), CPU-bound; prints its CPU µs. */
const SCRIPT = `import resource, sys
def leaf(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x
def down(d, n):
    return leaf(n) if d == 0 else down(d - 1, n) + 1
for _ in range(int(sys.argv[1])):
    down(18, 20000)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(int((ru.ru_utime + ru.ru_stime) * 1e6))
`;

const cpuMsOf = (run: TimedRun) => {
  if (run.code !== 0) throw new Error(`workload failed: exit ${run.code ?? run.signal}`);
  return Number(run.stdout.trim()) / 1000;
};

async function traced(script: string, rounds: number, frequency: number) {
  const abort = new AbortController();
  let markLive = () => {};
  const live = new Promise<void>((r) => (markLive = r));
  const capture = runCapture(profile, { durationMs: 300_000, signal: abort.signal, params: { frequency }, onLive: () => markLive() });
  await live;
  const run = await runTimed(PYTHON, [script, String(rounds)], { timeoutMs: 120_000 });
  abort.abort();
  const result = await capture;
  const mine = result.stacks.filter((s) => s.pid === run.pid);
  const total = mine.reduce((a, s) => a + s.value, 0);
  const named = mine.filter((s) => s.frames.some((f) => f.name === 'leaf' && f.file === script)).reduce((a, s) => a + s.value, 0);
  const evalLeft = mine.filter((s) => s.frames.some((f) => f.name === '_PyEval_EvalFrameDefault')).reduce((a, s) => a + s.value, 0);
  return { run, total, named, evalLeft, python: result.unwind?.python };
}

export async function pythonStacksBench(): Promise<void> {
  if (!existsSync(PYTHON)) {
    note(`${PYTHON} is not installed: nothing to measure`);
    return;
  }
  const tmp = new TempDir('python-stacks');
  try {
    const script = join(tmp.path, 'deep.py');
    writeFileSync(script, SCRIPT);
    const rounds = 600;
    section(
      `1. Overhead: ${PAIRS} pairs, CPython 3.11, ${rounds} rounds of a 20-frame recursion, profile at ${FREQUENCY} Hz (Python frames walked), order alternating`,
    );
    await traced(script, 5, FREQUENCY); // warm-up
    const pairs = await alternatingPairs(
      PAIRS,
      async () => cpuMsOf(await runTimed(PYTHON, [script, String(rounds)], { timeoutMs: 120_000 })),
      async () => {
        const t = await traced(script, rounds, FREQUENCY);
        return { cpuMs: cpuMsOf(t.run), ...t };
      },
    );
    const ratios = pairs.map((p) => p.traced.cpuMs / p.untraced);
    table(
      ['pair', 'order', 'cpu U', 'cpu T', 'ratio', 'samples', 'leaf named'],
      pairs.map((p, i) => [
        String(i + 1),
        p.order,
        fmtMs(p.untraced),
        fmtMs(p.traced.cpuMs),
        fmtRatio(ratios[i]!),
        String(p.traced.total),
        `${((p.traced.named / Math.max(1, p.traced.total)) * 100).toFixed(1)}%`,
      ]),
      numericColumns(7),
    );
    kv('CPU time: median of pair ratios', `${fmtRatio(median(ratios))} (pairs ranged ${fmtRatio(Math.min(...ratios))} – ${fmtRatio(Math.max(...ratios))})`);
    verdict(median(ratios) <= 1.02, `median CPU-time ratio ${fmtRatio(median(ratios))} vs ≤1.02×`);

    section('2. Samples with the Python function named (499 Hz, one run)');
    const t = await traced(script, rounds, 499);
    kv('samples of the program', String(t.total));
    kv('with leaf() named, file and all', `${((t.named / Math.max(1, t.total)) * 100).toFixed(1)}%`);
    kv('with an eval-loop frame left unnamed', `${((t.evalLeft / Math.max(1, t.total)) * 100).toFixed(1)}%`);
    kv('Python frames read / code objects unreadable', `${t.python?.frames ?? 0} / ${t.python?.unreadable ?? 0}`);
    note('the first samples of a process come before it is announced and its runtime found: those keep the eval loop');
  } finally {
    tmp.remove();
  }
}
