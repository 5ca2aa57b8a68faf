// Worker memory while capturing: a fresh Node process (so the heap of the
// other benchmarks does not count) loads the capture code, then runs an
// execsnoop capture for CAPTURE_MS under a paced exec load from a C helper,
// sampling its own RSS every 100 ms. It prints one JSON line; the parent
// reports baseline (before, after gc), peak during, and after (after gc).
import { fileURLToPath } from 'node:url';
import { runCapture } from '../src/captures/run-capture.js';
import { execsnoop } from '../src/captures/execsnoop/index.js';
import { EXEC_STORM_C, runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtMB, fmtMiB, kv, note, verdict } from './report.js';

const CHILD_FLAG = '--worker-memory-child';
const CAPTURE_MS = 3000;
const SAMPLE_MS = 100;
const LOAD_EXECS = 560; // 200 execs/s for 2.8 s: a moderate, bounded load
const LOAD_RATE = 200;
const LOAD_MAX_MS = 3500;
const TARGET_BYTES = 80e6; // 80 MB, decimal: the stricter reading

interface Usage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

interface ChildReport {
  baseline: Usage;
  peak: Usage;
  after: Usage;
  samples: number;
  events: number;
  dropped: number;
  execsAttempted: number;
  execsOk: number;
  ringBufferMiB: number;
}

const usage = (): Usage => {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
};

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs inside the fresh process. */
async function measure(storm: string): Promise<ChildReport> {
  await settle();
  const baseline = usage();
  let peak = baseline;
  let samples = 0;
  const sample = () => {
    const u = usage();
    samples++;
    if (u.rss > peak.rss) peak = u;
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  let load: Promise<TimedRun> | undefined;
  try {
    const result = await runCapture(execsnoop, {
      durationMs: CAPTURE_MS,
      onLive: () => {
        load = runTimed(storm, [String(LOAD_EXECS), String(LOAD_RATE), String(LOAD_MAX_MS)], { timeoutMs: LOAD_MAX_MS + 10_000 });
        load.catch(() => {}); // awaited below
      },
    });
    sample();
    const run = await load;
    const [attempted = 0, ok = 0] = (run?.stdout ?? '').trim().split(' ').map(Number);
    clearInterval(sampler);
    await settle();
    return {
      baseline,
      peak,
      after: usage(),
      samples,
      events: result.events.length,
      dropped: result.dropped,
      execsAttempted: attempted,
      execsOk: ok,
      ringBufferMiB: (result.bounds.events ?? 0) / (1024 * 1024),
    };
  } finally {
    clearInterval(sampler);
    await load?.catch(() => undefined);
  }
}

export async function workerMemory(): Promise<void> {
  const tmp = new TempDir('memory');
  try {
    const storm = tmp.compileC('exec-storm', EXEC_STORM_C);
    const run = await runTimed(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), CHILD_FLAG, storm], {
      timeoutMs: 60_000,
    });
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    if (run.code !== 0 || !line.startsWith('{')) throw new Error(`measuring process failed: exit ${run.code ?? run.signal}`);
    const r = JSON.parse(line) as ChildReport;
    note(`fresh node process, capture code imported; execsnoop for ${CAPTURE_MS} ms (ring ${r.ringBufferMiB} MiB) under ${LOAD_RATE} execs/s`);
    kv('exec load', `${fmtCount(r.execsOk)}/${fmtCount(r.execsAttempted)} execs ok; capture kept ${fmtCount(r.events)} events, ${fmtCount(r.dropped)} dropped`);
    kv('RSS baseline (before, after gc)', fmtMiB(r.baseline.rss));
    kv(`RSS peak during (${r.samples} samples/${SAMPLE_MS} ms)`, `${fmtMiB(r.peak.rss)} (+${fmtMiB(r.peak.rss - r.baseline.rss)})`);
    kv('RSS after (after gc)', `${fmtMiB(r.after.rss)} (+${fmtMiB(r.after.rss - r.baseline.rss)})`);
    kv('heap used baseline / at peak / after', `${fmtMiB(r.baseline.heapUsed)} / ${fmtMiB(r.peak.heapUsed)} / ${fmtMiB(r.after.heapUsed)}`);
    kv('external baseline / at peak / after', `${fmtMiB(r.baseline.external)} / ${fmtMiB(r.peak.external)} / ${fmtMiB(r.after.external)}`);
    note('RSS counts the ring buffer pages this process has touched through its mapping');
    verdict(r.peak.rss <= TARGET_BYTES, `peak RSS ${fmtMB(r.peak.rss)} (${fmtMiB(r.peak.rss)}) vs ≤${fmtMB(TARGET_BYTES)}`);
  } finally {
    tmp.remove();
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url)) {
  const storm = process.argv[3];
  if (!storm) throw new Error(`${CHILD_FLAG} needs the exec-storm helper's path`);
  measure(storm).then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
