// The five captures of a latency runbook (connect latency, retransmits, CPU
// profile, exec, file I/O) started at once, as a worker does for one run:
// from the first call until every one is live. Cold (open + verifier + attach,
// the verifier on koffi's threads) and warm (objects loaded ahead by the
// worker's warm pool: attach only), alternating, with the longest event-loop
// stall of each start, the CPU it took (all threads: on a shared machine less
// noisy than wall time) and the warm objects' kernel memory.
import { readFileSync } from 'node:fs';
import { captures } from '../src/captures/registry.js';
import { runCapture } from '../src/captures/run-capture.js';
import { WarmPool } from '../src/captures/warm-pool.js';
import { fmtMs, kv, max, median, min, msSince, numericColumns, percentile, section, table, verdict } from './report.js';
import { paramsSchema } from '../src/captures/params-schema.js';

const LATENCY_RUNBOOK = ['tcpconnlat', 'tcpretrans', 'profile', 'execsnoop', 'filetop'];
const RUNS = 10;
const TARGET_ALL_MS = 15;
const TARGET_ONE_MS = 10;
const TARGET_STALL_MS = 20;

interface Start {
  totalMs: number;
  each: Record<string, number>;
  stallMs: number;
  /** CPU of this process, all threads (event loop and koffi's, user and kernel), until all were live. */
  cpuMs: number;
  warm: number;
}

/** Starts the named captures at once; resolves with the ms until the last one was live. */
async function allLive(names: string[], pool?: WarmPool): Promise<Start> {
  const loop = stallMeter();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const each: Record<string, number> = {};
  const controller = new AbortController();
  let pending = names.length;
  let totalMs = Number.NaN;
  let stallMs = Number.NaN;
  let cpuMs = Number.NaN;
  const runs = names.map((name) =>
    runCapture(captures.get(name)!, {
      durationMs: 5_000,
      signal: controller.signal,
      ...(pool ? { pool } : {}),
      onLive: () => {
        each[name] = msSince(t0);
        if (--pending === 0) {
          totalMs = msSince(t0);
          stallMs = loop.stop();
          const used = process.cpuUsage(cpu0);
          cpuMs = (used.user + used.system) / 1000;
          controller.abort();
        }
      },
    }),
  );
  const results = await Promise.allSettled(runs);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const warm = results.filter((r) => r.status === 'fulfilled' && r.value.timings.warm).length;
  return { totalMs, each, stallMs, cpuMs, warm };
}

/**
 * The longest time the event loop did not turn: the gaps between 1 ms ticks,
 * counting the one still open at stop (monitorEventLoopDelay has no sample at
 * all when a start blocks the loop from end to end).
 */
function stallMeter(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - 1);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(tick);
      return Math.max(longest, performance.now() - last);
    },
  };
}

export async function runbookAttach(): Promise<void> {
  // The worker's own refill delay: replacements load after a start, not in it.
  const pool = new WarmPool();
  try {
    const settings = LATENCY_RUNBOOK.map((name) => {
      const def = captures.get(name)!;
      return { def, params: paramsSchema(def).parse({}) as unknown, target: { description: 'all processes' } };
    });
    const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const t0 = process.hrtime.bigint();
    await pool.warm(settings);
    const warmUpMs = msSince(t0);
    const memory = pool.memory();
    await allLive(LATENCY_RUNBOOK); // warm-up: module loading, kallsyms, page cache
    const cold: Start[] = [];
    const warm: Start[] = [];
    for (let i = 0; i < RUNS; i++) {
      cold.push(await allLive(LATENCY_RUNBOOK));
      await pool.settled(); // the taken objects are replaced, as on an idle worker between runs
      warm.push(await allLive(LATENCY_RUNBOOK, pool));
      await pool.settled();
    }
    const single: Start[] = [];
    for (let i = 0; i < RUNS; i++) {
      single.push(await allLive(['execsnoop'], pool));
      await pool.settled();
    }

    section(`${RUNS} starts of ${LATENCY_RUNBOOK.join(' + ')} at once, cold and warm alternating`);
    const row = (label: string, xs: number[]) => [label, fmtMs(median(xs)), fmtMs(percentile(xs, 90)), fmtMs(min(xs)), fmtMs(max(xs))];
    table(
      ['until', 'median', 'p90', 'min', 'max'],
      [
        ...LATENCY_RUNBOOK.flatMap((name) => [
          row(
            `${name} live, cold`,
            cold.map((s) => s.each[name]!),
          ),
          row(
            `${name} live, warm`,
            warm.map((s) => s.each[name]!),
          ),
        ]),
        row(
          'all five live, cold',
          cold.map((s) => s.totalMs),
        ),
        row(
          'all five live, warm',
          warm.map((s) => s.totalMs),
        ),
        row(
          'longest loop stall, cold',
          cold.map((s) => s.stallMs),
        ),
        row(
          'longest loop stall, warm',
          warm.map((s) => s.stallMs),
        ),
        row(
          'process CPU until live, cold',
          cold.map((s) => s.cpuMs),
        ),
        row(
          'process CPU until live, warm',
          warm.map((s) => s.cpuMs),
        ),
        row(
          'execsnoop alone, warm',
          single.map((s) => s.totalMs),
        ),
      ],
      numericColumns(5),
    );
    const coldAll = median(cold.map((s) => s.totalMs));
    const warmAll = median(warm.map((s) => s.totalMs));
    kv('load average before / after', `${loadBefore} / ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    kv('cold / warm (all five)', `${(coldAll / warmAll).toFixed(1)}×`);
    kv('runs that found their objects warm', `${warm.reduce((n, s) => n + s.warm, 0)} of ${RUNS * LATENCY_RUNBOOK.length}`);
    kv(
      'warm pool',
      `${memory.objects} objects loaded in ${fmtMs(warmUpMs)}, kernel memory ${(memory.kernelBytes / 2 ** 20).toFixed(1)} MiB (no program attached: no CPU while idle)`,
    );
    const stall = max(warm.map((s) => s.stallMs));
    verdict(warmAll <= TARGET_ALL_MS, `all five warm: median ${fmtMs(warmAll)} vs ≤${TARGET_ALL_MS} ms`);
    const one = median(single.map((s) => s.totalMs));
    verdict(one <= TARGET_ONE_MS, `one capture warm: median ${fmtMs(one)} vs ≤${TARGET_ONE_MS} ms`);
    verdict(stall <= TARGET_STALL_MS, `longest event-loop stall in a warm start ${fmtMs(stall)} vs ≤${TARGET_STALL_MS} ms`);
  } finally {
    await pool.close();
  }
}
