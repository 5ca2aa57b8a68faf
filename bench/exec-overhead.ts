// Overhead on the traced workload: a C helper does fork + execve("/bin/true")
// + waitpid STORM times, timed from spawn() to its exit. Untraced and traced
// runs alternate (order swapped every pair, so drift hits both sides); in a
// traced run an execsnoop capture is live in this process (draining every
// 10 ms) before the storm starts and is aborted after it ends.
import { runCapture } from '../src/captures/run-capture.js';
import { execsnoop } from '../src/captures/execsnoop/index.js';
import { EXEC_STORM_C, runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtMs, fmtRatio, kv, median, note, numericColumns, section, table, verdict, alternatingPairs } from './report.js';

const STORM = 2000;
const WARMUP_STORM = 200;
const PAIRS = 10;
const STORM_TIMEOUT_MS = 120_000;
const CAPTURE_BOUND_MS = 300_000; // the capture is aborted long before this
const TARGET_RATIO = 1.03;

interface Traced {
  ms: number;
  seen: number;
  /** ... with filename and argv read (not a partial record). */
  complete: number;
  failed: number;
  dropped: number;
  partialReads: number;
  bpfCpuNs: number;
}

async function untraced(storm: string, count = STORM): Promise<number> {
  const run = await runTimed(storm, [String(count)], { timeoutMs: STORM_TIMEOUT_MS });
  if (run.code !== 0) throw new Error(`exec storm failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  return run.ms;
}

async function traced(storm: string, count = STORM): Promise<Traced> {
  const abort = new AbortController();
  let markLive = () => {};
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const capture = runCapture(execsnoop, { durationMs: CAPTURE_BOUND_MS, signal: abort.signal, onLive: () => markLive() });
  const endedEarly = capture.then(() => Promise.reject(new Error('capture ended before its probes were live')));
  endedEarly.catch(() => {}); // only the race below reads it
  await Promise.race([live, endedEarly]);
  let run: TimedRun | undefined;
  let failure: unknown;
  try {
    run = await runTimed(storm, [String(count)], { timeoutMs: STORM_TIMEOUT_MS });
  } catch (err) {
    failure = err;
  }
  abort.abort();
  const result = await capture; // the capture is closed before anything is thrown
  if (!run) throw failure;
  if (run.code !== 0) throw new Error(`exec storm failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  const stormPid = run.pid;
  const mine = result.events.filter((e) => e.ppid === stormPid && e.pcomm === 'exec-storm');
  return {
    ms: run.ms,
    seen: mine.filter((e) => e.retval === 0 && e.comm === 'true').length,
    complete: mine.filter((e) => e.retval === 0 && e.filename === '/bin/true' && e.argv[0] === '/bin/true').length,
    failed: mine.filter((e) => e.retval !== 0).length,
    dropped: result.dropped,
    partialReads: result.partialReads,
    bpfCpuNs: result.bpfCpuNs,
  };
}

export async function execOverhead(): Promise<void> {
  const tmp = new TempDir('exec');
  try {
    const storm = tmp.compileC('exec-storm', EXEC_STORM_C);
    // Warm-up, untimed: page cache for /bin/true and the helper, capture code paths.
    await untraced(storm, WARMUP_STORM);
    await traced(storm, WARMUP_STORM);

    section(`${PAIRS} pairs of ${fmtCount(STORM)} × fork+execve(/bin/true)+waitpid, spawn→exit, order alternating`);
    const rows: string[][] = [];
    const ratios: number[] = [];
    const plain: number[] = [];
    const withCapture: Traced[] = [];
    const pairs = await alternatingPairs(
      PAIRS,
      () => untraced(storm),
      () => traced(storm),
    );
    for (const { index: i, order, untraced: u, traced: t } of pairs) {
      plain.push(u);
      withCapture.push(t);
      ratios.push(t.ms / u);
      rows.push([
        String(i + 1),
        order,
        fmtMs(u),
        fmtMs(t.ms),
        fmtRatio(t.ms / u),
        `${fmtCount(t.seen)}/${fmtCount(STORM)}`,
        fmtCount(t.complete),
        fmtCount(t.failed),
        fmtCount(t.dropped),
        fmtCount(t.partialReads),
      ]);
    }
    table(['pair', 'order', 'untraced', 'traced', 'ratio', 'execs seen', 'complete', 'failed', 'drops', 'partial'], rows, numericColumns(10));
    const tracedMs = withCapture.map((t) => t.ms);
    kv('median untraced / traced', `${fmtMs(median(plain))} / ${fmtMs(median(tracedMs))}`);
    kv('per exec (untraced, median)', `${((median(plain) * 1000) / STORM).toFixed(1)} µs`);
    kv('added per exec (median difference)', `${(((median(tracedMs) - median(plain)) * 1000) / STORM).toFixed(1)} µs`);
    kv(
      'BPF program time per exec (kernel)',
      `${(median(withCapture.map((t) => t.bpfCpuNs)) / STORM / 1000).toFixed(2)} µs (all execsnoop programs, whole machine, ÷ ${STORM})`,
    );
    const bpfPerExecMs = median(withCapture.map((t) => t.bpfCpuNs)) / STORM / 1e6;
    kv(
      'estimate from kernel accounting',
      `${fmtRatio(1 + bpfPerExecMs / (median(plain) / STORM))} (1 + BPF run time per exec ÷ untraced time per exec: a lower bound, without tracepoint dispatch; low noise)`,
    );
    kv('ratio of medians', fmtRatio(median(tracedMs) / median(plain)));
    kv('ratio of minimums', `${fmtRatio(Math.min(...tracedMs) / Math.min(...plain))} (each side's least-disturbed run)`);
    kv('median of pair ratios', `${fmtRatio(median(ratios))} (pairs ranged ${fmtRatio(Math.min(...ratios))} – ${fmtRatio(Math.max(...ratios))})`);
    const allSeen = withCapture.every((t) => t.seen === STORM && t.complete === STORM);
    kv(
      'capture saw every exec, complete',
      allSeen
        ? 'yes, in every traced run'
        : `NO: seen ${withCapture.map((t) => t.seen).join(', ')}; complete ${withCapture.map((t) => t.complete).join(', ')} of ${STORM}`,
    );
    note('execs seen = successful exec records of comm "true" whose parent is the storm helper; complete = of those, with');
    note("filename and argv read; drops = the capture's dropped count; partial = its partial-read counter (whole machine)");
    verdict(median(ratios) <= TARGET_RATIO, `median pair ratio ${fmtRatio(median(ratios))} vs ≤${fmtRatio(TARGET_RATIO)}`);
  } finally {
    tmp.remove();
  }
}
