// Overhead of the CPU profile on a CPU-bound workload: a C helper does a
// fixed amount of arithmetic (single thread, no syscalls in the loop), timed
// from spawn() to its exit (wall) and by its own CPU time (getrusage: user +
// system, which includes the sampling interrupts and the BPF program run on
// its CPU). Untraced and traced runs alternate (order swapped every pair, so
// drift hits both sides); in a traced run a `profile` capture at 99 Hz on
// every CPU is live in this process before the workload starts and is
// aborted after it ends. The verdict is on CPU time: on a shared 2-core
// machine wall time mostly measures who else wanted the CPU.
import { runCapture } from '../src/captures/run-capture.js';
import { profile } from '../src/captures/profile/index.js';
import { runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtMs, fmtRatio, kv, median, note, numericColumns, section, table, verdict, alternatingPairs } from './report.js';

const FREQUENCY = 99;
const PAIRS = 8;
/** Loop rounds of the workload: about 1 s on this machine's cores. */
const ROUNDS = 400;
const WARMUP_ROUNDS = 40;
const RUN_TIMEOUT_MS = 60_000;
const CAPTURE_BOUND_MS = 300_000; // the capture is aborted long before this
const TARGET_RATIO = 1.01;

/** ROUNDS × 1M rounds of an xorshift mix; prints its CPU time (µs) and the result. */
export const CPU_WORK_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

__attribute__((noinline)) static unsigned long long mix(unsigned long long x, long n)
{
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		x += (unsigned long long)i * 0x9e3779b97f4a7c15ULL;
	}
	return x;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 400;
	unsigned long long x = 88172645463325252ULL;

	for (long r = 0; r < rounds; r++)
		x = mix(x, 1000000);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	/* CPU time in µs, then the result so nothing is optimized away. */
	printf("%.0f %llu\n", ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec, x);
	return 0;
}
`;

interface Timing {
  /** spawn → exit. */
  ms: number;
  /** The workload's own CPU time (user + system). */
  cpuMs: number;
}

interface Traced extends Timing {
  /** Samples the capture counted for the workload's pid. */
  samples: number;
  /** Of those, in the workload's mix(). */
  inMix: number;
  dropped: number;
  lostStacks: number;
  bpfCpuNs: number;
  bpfRunCount: number;
}

function timing(run: TimedRun): Timing {
  if (run.code !== 0) throw new Error(`cpu workload failed: exit ${run.code ?? run.signal}`);
  return { ms: run.ms, cpuMs: Number(run.stdout.trim().split(' ')[0]) / 1000 };
}

async function untraced(work: string, rounds = ROUNDS): Promise<Timing> {
  return timing(await runTimed(work, [String(rounds)], { timeoutMs: RUN_TIMEOUT_MS }));
}

async function traced(work: string, rounds = ROUNDS): Promise<Traced> {
  const abort = new AbortController();
  let markLive = () => {};
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const capture = runCapture(profile, {
    durationMs: CAPTURE_BOUND_MS,
    signal: abort.signal,
    params: { frequency: FREQUENCY },
    onLive: () => markLive(),
  });
  const endedEarly = capture.then(() => Promise.reject(new Error('capture ended before its probes were live')));
  endedEarly.catch(() => {}); // only the race below reads it
  await Promise.race([live, endedEarly]);
  let run: TimedRun | undefined;
  let failure: unknown;
  try {
    run = await runTimed(work, [String(rounds)], { timeoutMs: RUN_TIMEOUT_MS });
  } catch (err) {
    failure = err;
  }
  abort.abort();
  const result = await capture; // the capture is closed before anything is thrown
  if (!run) throw failure;
  const pid = run.pid;
  const mine = result.stacks.filter((s) => s.pid === pid);
  return {
    ...timing(run),
    samples: mine.reduce((a, s) => a + s.value, 0),
    // -O2 may clone it as mix.constprop.0
    inMix: mine.filter((s) => /^mix\b/.test(s.frames.at(-1)?.name ?? '')).reduce((a, s) => a + s.value, 0),
    dropped: result.dropped,
    lostStacks: result.lostStacks.kernel + result.lostStacks.user,
    bpfCpuNs: result.bpfCpuNs,
    bpfRunCount: result.bpfRunCount,
  };
}

export async function profileOverhead(): Promise<void> {
  const tmp = new TempDir('profile');
  try {
    const work = tmp.compileC('cpu-work', CPU_WORK_C);
    // Warm-up, untimed: page cache, the capture's code paths and kallsyms.
    await untraced(work, WARMUP_ROUNDS);
    await traced(work, WARMUP_ROUNDS);

    section(`${PAIRS} pairs of a CPU-bound C workload (${ROUNDS} × 1M xorshift rounds), spawn→exit, profile at ${FREQUENCY} Hz, order alternating`);
    const rows: string[][] = [];
    const cpuRatios: number[] = [];
    const wallRatios: number[] = [];
    const plain: Timing[] = [];
    const withCapture: Traced[] = [];
    const pairs = await alternatingPairs(
      PAIRS,
      () => untraced(work),
      () => traced(work),
    );
    for (const { index: i, order, untraced: u, traced: t } of pairs) {
      plain.push(u);
      withCapture.push(t);
      cpuRatios.push(t.cpuMs / u.cpuMs);
      wallRatios.push(t.ms / u.ms);
      const expected = (t.cpuMs / 1000) * FREQUENCY;
      rows.push([
        String(i + 1),
        order,
        fmtMs(u.cpuMs),
        fmtMs(t.cpuMs),
        fmtRatio(t.cpuMs / u.cpuMs),
        fmtMs(u.ms),
        fmtMs(t.ms),
        fmtRatio(t.ms / u.ms),
        `${fmtCount(t.samples)}/${fmtCount(expected)}`,
        t.samples ? `${((t.inMix / t.samples) * 100).toFixed(0)}%` : '-',
        fmtCount(t.dropped),
        fmtCount(t.lostStacks),
      ]);
    }
    table(
      ['pair', 'order', 'cpu U', 'cpu T', 'ratio', 'wall U', 'wall T', 'ratio', 'samples/expected', 'in mix()', 'drops', 'lost stacks'],
      rows,
      numericColumns(12),
    );
    const cpu = (xs: Timing[]) => xs.map((x) => x.cpuMs);
    const wall = (xs: Timing[]) => xs.map((x) => x.ms);
    kv('median CPU time untraced / traced', `${fmtMs(median(cpu(plain)))} / ${fmtMs(median(cpu(withCapture)))}`);
    kv('median wall time untraced / traced', `${fmtMs(median(wall(plain)))} / ${fmtMs(median(wall(withCapture)))}`);
    const perSampleUs = median(withCapture.map((t) => t.bpfCpuNs / Math.max(1, t.bpfRunCount))) / 1000;
    kv('BPF program time per sample (kernel)', `${perSampleUs.toFixed(2)} µs (median over runs; all CPUs, every process sampled)`);
    kv(
      'estimate from kernel accounting',
      `${fmtRatio(1 + (perSampleUs * FREQUENCY) / 1e6)} (1 + BPF time per sample × ${FREQUENCY} samples per CPU-second; low noise)`,
    );
    kv('CPU time: ratio of medians', fmtRatio(median(cpu(withCapture)) / median(cpu(plain))));
    kv(
      'CPU time: median of pair ratios',
      `${fmtRatio(median(cpuRatios))} (pairs ranged ${fmtRatio(Math.min(...cpuRatios))} – ${fmtRatio(Math.max(...cpuRatios))})`,
    );
    kv(
      'wall time: median of pair ratios',
      `${fmtRatio(median(wallRatios))} (pairs ranged ${fmtRatio(Math.min(...wallRatios))} – ${fmtRatio(Math.max(...wallRatios))}; noisy when others use the CPUs)`,
    );
    note("cpu = the workload's own user+system time (getrusage), which carries the sampling interrupts on its CPU; wall = spawn→exit");
    note('samples/expected = samples counted for the workload pid / (its CPU time × frequency): near 1 means every tick was seen;');
    note("in mix() = share of those whose leaf is the workload's mix() (symbolized); drops, lost stacks: whole-machine counts");
    verdict(median(cpuRatios) <= TARGET_RATIO, `median CPU-time pair ratio ${fmtRatio(median(cpuRatios))} vs ≤${fmtRatio(TARGET_RATIO)}`);
  } finally {
    tmp.remove();
  }
}
