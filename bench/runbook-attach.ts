// The five captures of a latency runbook (connect latency, retransmits, CPU
// profile, exec, file I/O) started at once in a warm process, as a worker
// does for one run: from the first call until every one is live.
import { captures } from '../src/captures/registry.js';
import { runCapture } from '../src/captures/run-capture.js';
import { fmtMs, kv, max, median, min, msSince, numericColumns, percentile, section, table, verdict } from './report.js';

const LATENCY_RUNBOOK = ['tcpconnlat', 'tcpretrans', 'profile', 'execsnoop', 'filetop'];
const RUNS = 10;
const TARGET_MS = 30;

/** Starts all five; resolves with the ms until the last one was live, and each one's split. */
async function allLive(): Promise<{ totalMs: number; each: Record<string, number> }> {
  const t0 = process.hrtime.bigint();
  const each: Record<string, number> = {};
  const controller = new AbortController();
  let pending = LATENCY_RUNBOOK.length;
  let totalMs = Number.NaN;
  const runs = LATENCY_RUNBOOK.map((name) =>
    runCapture(captures.get(name)!, {
      durationMs: 5_000,
      signal: controller.signal,
      onLive: () => {
        each[name] = msSince(t0);
        if (--pending === 0) {
          totalMs = msSince(t0);
          controller.abort();
        }
      },
    }),
  );
  const results = await Promise.allSettled(runs);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return { totalMs, each };
}

export async function runbookAttach(): Promise<void> {
  await allLive(); // warm-up: module loading, kallsyms, page cache
  const samples: Array<{ totalMs: number; each: Record<string, number> }> = [];
  for (let i = 0; i < RUNS; i++) samples.push(await allLive());
  const totals = samples.map((s) => s.totalMs);
  section(`${RUNS} warm starts of ${LATENCY_RUNBOOK.join(' + ')} at once`);
  table(
    ['until', 'median', 'p90', 'min', 'max'],
    [
      ...LATENCY_RUNBOOK.map((name) => {
        const xs = samples.map((s) => s.each[name]!);
        return [`${name} live`, fmtMs(median(xs)), fmtMs(percentile(xs, 90)), fmtMs(min(xs)), fmtMs(max(xs))];
      }),
      ['all five live', fmtMs(median(totals)), fmtMs(percentile(totals, 90)), fmtMs(min(totals)), fmtMs(max(totals))],
    ],
    numericColumns(5),
  );
  kv('note', 'loads are synchronous FFI calls, so the five run one after another on the event loop');
  verdict(median(totals) <= TARGET_MS, `median ${fmtMs(median(totals))} vs ≤${TARGET_MS} ms for all five`);
}
