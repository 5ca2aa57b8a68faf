// What the storm benchmarks of one capture share: a helper run with the
// capture live (whole host, unfiltered), the traced/untraced table and the
// ratios printed the same way for each.
import type { CaptureDefinition, CaptureResult } from '../src/captures/capture.js';
import { runCapture } from '../src/captures/run-capture.js';
import { runTimed, type TimedRun } from './processes.js';
import { alternatingPairs, fmtCount, fmtMs, fmtRatio, kv, median, note, numericColumns, section, table, verdict } from './report.js';

const CAPTURE_BOUND_MS = 300_000; // aborted long before this

export interface TracedRun<D> {
  run: TimedRun;
  result: CaptureResult<D>;
}

/** Runs `helper args` to its end with `def` live before it starts; the capture is closed before anything is thrown. */
export async function runTraced<D>(def: CaptureDefinition<any, D>, helper: string, args: string[], timeoutMs: number): Promise<TracedRun<D>> {
  const abort = new AbortController();
  let live = () => {};
  const isLive = new Promise<void>((resolve) => (live = resolve));
  const capture = runCapture(def, { durationMs: CAPTURE_BOUND_MS, signal: abort.signal, onLive: () => live() });
  const endedEarly = capture.then(() => Promise.reject(new Error(`${def.name} ended before its probes were live`)));
  endedEarly.catch(() => {});
  let run: TimedRun | undefined;
  let failure: unknown;
  try {
    await Promise.race([isLive, endedEarly]);
    run = await runTimed(helper, args, { timeoutMs });
  } catch (err) {
    failure = err;
  }
  abort.abort();
  const result = await capture;
  if (!run) throw failure;
  return { run, result };
}

export interface StormReport<D> {
  title: string;
  pairs: number;
  untraced(): Promise<number>;
  traced(): Promise<TracedRun<D>>;
  /** What the capture saw in one traced run, for its column ("2,000 rows"). */
  seen(result: CaptureResult<D>, run: TimedRun): string;
  target: number;
}

/** Alternating pairs, then the table and the ratios every storm benchmark prints. */
export async function stormPairs<D>(report: StormReport<D>): Promise<void> {
  section(report.title);
  const rows: string[][] = [];
  const ratios: number[] = [];
  const plain: number[] = [];
  const traced: TracedRun<D>[] = [];
  for (const { index, order, untraced: u, traced: t } of await alternatingPairs(report.pairs, report.untraced, report.traced)) {
    plain.push(u);
    traced.push(t);
    ratios.push(t.run.ms / u);
    rows.push([
      String(index + 1),
      order,
      fmtMs(u),
      fmtMs(t.run.ms),
      fmtRatio(t.run.ms / u),
      fmtCount(t.result.bpfRunCount),
      `${(t.result.bpfCpuNs / 1e6).toFixed(2)} ms`,
      report.seen(t.result, t.run),
      fmtCount(t.result.dropped),
    ]);
  }
  table(['pair', 'order', 'untraced', 'traced', 'ratio', 'BPF runs', 'BPF time', 'seen', 'drops'], rows, numericColumns(9));
  const tracedMs = traced.map((t) => t.run.ms);
  const bpfNs = median(traced.map((t) => t.result.bpfCpuNs));
  const runs = median(traced.map((t) => t.result.bpfRunCount));
  kv('median untraced / traced', `${fmtMs(median(plain))} / ${fmtMs(median(tracedMs))}`);
  kv('BPF time per program run (kernel, median)', runs ? `${(bpfNs / runs).toFixed(0)} ns over ${fmtCount(runs)} runs` : 'no runs');
  kv(
    'estimate from kernel accounting',
    `${fmtRatio(1 + bpfNs / 1e6 / median(plain))} (1 + BPF time ÷ untraced time: a lower bound, without tracepoint dispatch)`,
  );
  kv('ratio of medians', fmtRatio(median(tracedMs) / median(plain)));
  kv('ratio of minimums', fmtRatio(Math.min(...tracedMs) / Math.min(...plain)));
  kv('median of pair ratios', `${fmtRatio(median(ratios))} (pairs ranged ${fmtRatio(Math.min(...ratios))} – ${fmtRatio(Math.max(...ratios))})`);
  note("BPF runs/time: kernel run-time stats of the capture's programs, whole machine, for the capture's lifetime");
  verdict(median(ratios) <= report.target, `median pair ratio ${fmtRatio(median(ratios))} vs ≤${fmtRatio(report.target)}`);
}
