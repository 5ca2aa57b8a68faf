// Overhead on a connect storm: a C helper makes STORM loopback connects to its
// own listener (socket, connect, accept, close both; the server's end closes
// first), timed from spawn() to its exit. Untraced and traced runs alternate
// (order swapped every pair, so drift hits both sides); in a traced run
// tcpconnlat and tcplife are both live in this process (two runCapture calls
// in parallel, each draining every 10 ms) before the storm starts, and both
// are aborted after it ends.
import { runCapture } from '../src/captures/run-capture.js';
import { tcpconnlat } from '../src/captures/tcpconnlat/index.js';
import { tcplife } from '../src/captures/tcplife/index.js';
import { tcpreset } from '../src/captures/tcpreset/index.js';
import { tcpretrans } from '../src/captures/tcpretrans/index.js';
import { tcprtt } from '../src/captures/tcprtt/index.js';
import type { CaptureDefinition, CaptureResult } from '../src/captures/capture.js';
import { setHookChaining } from '../src/libbpf/index.js';
import { runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtMs, fmtRatio, kv, median, note, numericColumns, section, table, verdict, alternatingPairs } from './report.js';

const STORM = 20_000;
const WARMUP_STORM = 2000;
const PAIRS = 4;
/** Pairs of the hook-chain comparison: the difference is a few percent, so more of them. */
const CHAIN_PAIRS = 8;
const STORM_TIMEOUT_MS = 120_000;
const CAPTURE_BOUND_MS = 300_000; // the captures are aborted long before this
const TARGET_RATIO = 1.05;

/**
 * N loopback connects to a listener of its own, one after another:
 * socket + connect + accept + close(server end) + close(client end).
 * Prints "<listener port> <attempted> <ok> <loop ns> <process CPU ns>"; exits 0
 * when all succeeded. The CPU time (CLOCK_PROCESS_CPUTIME_ID) holds the
 * loopback softirq work and every BPF run done in the helper's context (no
 * IRQ time accounting here), and is far less disturbed by other load on a
 * shared machine than the wall time.
 */
export const CONNECT_STORM_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	long max_ms = argc > 2 ? atol(argv[2]) : 60000;
	long long t0 = now_ns(), deadline = t0 + max_ms * 1000000LL;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
	long i, ok = 0;

	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 128) ||
	    getsockname(l, (struct sockaddr *)&addr, &len)) {
		perror("listener");
		return 2;
	}
	for (i = 0; i < n; i++) {
		if (now_ns() >= deadline)
			break;
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0) {
			perror("socket");
			break;
		}
		if (connect(c, (struct sockaddr *)&addr, sizeof(addr))) {
			perror("connect");
			close(c);
			break;
		}
		int s = accept(l, NULL, NULL);
		if (s < 0) {
			perror("accept");
			close(c);
			break;
		}
		/* The server's end closes first and takes the TIME_WAIT: the
		 * client's ephemeral ports stay free for the next runs. */
		close(s);
		close(c);
		ok++;
	}
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	printf("%d %ld %ld %lld %lld\n", ntohs(addr.sin_port), i, ok, now_ns() - t0,
	       cpu.tv_sec * 1000000000LL + cpu.tv_nsec);
	return ok == i ? 0 : 1;
}
`;

interface Storm {
  /** spawn() to exit. */
  ms: number;
  /** The helper's own CPU time. */
  cpuMs: number;
  pid: number;
  port: number;
}

interface Traced extends Storm {
  /** Connects tcpconnlat timed to the storm's listener. */
  timed: number;
  /** tcplife records of the storm's connections: both ends, owned by the storm process. */
  lives: number;
  dropped: number;
  missedRuns: number;
  bpfCpuNs: number;
}

function checked(run: TimedRun, count: number): Storm {
  const [port, attempted, ok, , cpuNs] = run.stdout.trim().split(/\s+/).map(Number);
  if (run.code !== 0 || attempted !== count || ok !== count) {
    throw new Error(`connect storm failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  }
  return { ms: run.ms, cpuMs: cpuNs! / 1e6, pid: run.pid, port: port! };
}

async function untraced(storm: string, count = STORM): Promise<Storm> {
  return checked(await runTimed(storm, [String(count)], { timeoutMs: STORM_TIMEOUT_MS }), count);
}

/** Starts a capture; resolves once its probes are live, with `result`, which settles when it is aborted. */
async function startCapture<P, D>(def: CaptureDefinition<P, D>, params: unknown, signal: AbortSignal): Promise<{ result: Promise<CaptureResult<D>> }> {
  let markLive = () => {};
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const result = runCapture(def, { durationMs: CAPTURE_BOUND_MS, params, signal, onLive: () => markLive() });
  const endedEarly = result.then(() => Promise.reject(new Error(`${def.name} ended before its probes were live`)));
  endedEarly.catch(() => {}); // only the race below reads it
  try {
    await Promise.race([live, endedEarly]);
  } catch (err) {
    await result.catch(() => {});
    throw err;
  }
  return { result };
}

/** The storm under tcpconnlat + tcplife, and `also` (other captures on the same hook) beside them. */
async function traced(storm: string, count = STORM, also: CaptureDefinition<any, any>[] = []): Promise<Traced> {
  const abort = new AbortController();
  const connlatLive = startCapture(tcpconnlat, {}, abort.signal);
  const lifeLive = startCapture(tcplife, { maxEvents: 4 * count }, abort.signal);
  const othersLive = also.map((def) => startCapture(def, {}, abort.signal));
  let run: TimedRun | undefined;
  let failure: unknown;
  try {
    await Promise.all([connlatLive, lifeLive, ...othersLive]);
    run = await runTimed(storm, [String(count)], { timeoutMs: STORM_TIMEOUT_MS });
  } catch (err) {
    failure = err;
  }
  abort.abort();
  // Every capture is closed before anything is thrown.
  const [connlatResult, lifeResult] = await Promise.allSettled([connlatLive.then((c) => c.result), lifeLive.then((c) => c.result)]);
  await Promise.allSettled(othersLive.map((c) => c.then((o) => o.result)));
  if (!run) throw failure;
  if (connlatResult.status === 'rejected') throw connlatResult.reason;
  if (lifeResult.status === 'rejected') throw lifeResult.reason;
  const [connlat, life] = [connlatResult.value, lifeResult.value];
  const stormRun = checked(run, count);
  const destination = `127.0.0.1:${stormRun.port}`;
  return {
    ...stormRun,
    timed: connlat.histograms.find((h) => h.labels.destination === destination)?.histogram.count ?? 0,
    lives: life.events.filter((e) => e.pid === stormRun.pid && (e.remote === destination || e.local === destination)).length,
    dropped: connlat.dropped + life.dropped,
    missedRuns: connlat.missedRuns + life.missedRuns,
    bpfCpuNs: connlat.bpfCpuNs + life.bpfCpuNs,
  };
}

export async function tcpconnlatOverhead(): Promise<void> {
  const tmp = new TempDir('connect');
  try {
    const storm = tmp.compileC('connect-storm', CONNECT_STORM_C);
    // Warm-up, untimed: the helper's pages, the capture code paths.
    await untraced(storm, WARMUP_STORM);
    await traced(storm, WARMUP_STORM);

    section(`${PAIRS} pairs of ${fmtCount(STORM)} loopback connect+accept+close, spawn→exit, order alternating; traced = tcpconnlat + tcplife`);
    const rows: string[][] = [];
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const plain: number[] = [];
    const plainCpu: number[] = [];
    const withCaptures: Traced[] = [];
    const pairs = await alternatingPairs(
      PAIRS,
      () => untraced(storm),
      () => traced(storm),
    );
    for (const { index: i, order, untraced: u, traced: t } of pairs) {
      plain.push(u.ms);
      plainCpu.push(u.cpuMs);
      withCaptures.push(t);
      ratios.push(t.ms / u.ms);
      cpuRatios.push(t.cpuMs / u.cpuMs);
      rows.push([
        String(i + 1),
        order,
        fmtMs(u.ms),
        fmtMs(t.ms),
        fmtRatio(t.ms / u.ms),
        fmtMs(u.cpuMs),
        fmtMs(t.cpuMs),
        fmtRatio(t.cpuMs / u.cpuMs),
        `${fmtCount(t.timed)}/${fmtCount(STORM)}`,
        `${fmtCount(t.lives)}/${fmtCount(2 * STORM)}`,
        fmtCount(t.dropped),
        fmtCount(t.missedRuns),
      ]);
    }
    table(
      ['pair', 'order', 'untraced', 'traced', 'ratio', 'CPU untraced', 'CPU traced', 'CPU ratio', 'timed (connlat)', 'ends (life)', 'drops', 'missed'],
      rows,
      numericColumns(12),
    );
    const tracedMs = withCaptures.map((t) => t.ms);
    kv('median untraced / traced', `${fmtMs(median(plain))} / ${fmtMs(median(tracedMs))}`);
    kv('per connect (untraced, median)', `${((median(plain) * 1000) / STORM).toFixed(1)} µs`);
    kv('added per connect (median difference)', `${(((median(tracedMs) - median(plain)) * 1000) / STORM).toFixed(2)} µs`);
    const bpfPerConnectMs = median(withCaptures.map((t) => t.bpfCpuNs)) / STORM / 1e6;
    kv('BPF program time per connect (kernel)', `${(bpfPerConnectMs * 1000).toFixed(2)} µs (both captures, whole machine, ÷ ${STORM})`);
    kv(
      'estimate from kernel accounting',
      `${fmtRatio(1 + bpfPerConnectMs / (median(plain) / STORM))} (1 + BPF time per connect ÷ untraced time per connect; low noise)`,
    );
    kv('ratio of medians', fmtRatio(median(tracedMs) / median(plain)));
    kv('median of pair ratios', `${fmtRatio(median(ratios))} (pairs ranged ${fmtRatio(Math.min(...ratios))} – ${fmtRatio(Math.max(...ratios))})`);
    kv(
      'median of pair CPU ratios',
      `${fmtRatio(median(cpuRatios))} (the helper's own CPU time; pairs ranged ${fmtRatio(Math.min(...cpuRatios))} – ${fmtRatio(Math.max(...cpuRatios))})`,
    );
    const allSeen = withCaptures.every((t) => t.timed === STORM && t.lives === 2 * STORM);
    kv(
      'captures saw every connect',
      allSeen
        ? 'yes, in every traced run'
        : `NO: timed ${withCaptures.map((t) => t.timed).join(', ')} of ${STORM}; ends ${withCaptures.map((t) => t.lives).join(', ')} of ${2 * STORM}`,
    );
    note("timed = connects in tcpconnlat's histogram for the storm's listener; ends = tcplife records of the storm's");
    note("connections owned by the storm process (client and server end each); drops = both captures' dropped counts;");
    note('missed = runs the kernel skipped (recursion_misses: nested in another BPF program on that CPU)');
    note("CPU = the helper's CLOCK_PROCESS_CPUTIME_ID: its syscalls, the loopback softirqs and BPF runs in its context");
    note('bpftrace (tcpconnlat.bt + tcplife.bt) measured 1.19× on this storm');
    verdict(median(ratios) <= TARGET_RATIO, `median pair ratio ${fmtRatio(median(ratios))} vs ≤${fmtRatio(TARGET_RATIO)}`);
    await chainedVersusOwnDispatch(storm);
  } finally {
    setHookChaining(true);
    tmp.remove();
  }
}

/**
 * Every TCP capture of the intermittent-latency runbook, and tcplife, on the socket-state hook: their
 * programs in one hook chain (as they run) and each on its own dispatch.
 */
async function chainedVersusOwnDispatch(storm: string): Promise<void> {
  const also = [tcpretrans, tcpreset, tcprtt];
  const names = ['tcpconnlat', 'tcplife', ...also.map((d) => d.name)].join(' + ');
  section(`${CHAIN_PAIRS} pairs, ${names} on one dispatch (hook chain) vs one dispatch each, order alternating`);
  const tracedWith = (chained: boolean) => () => {
    setHookChaining(chained);
    return traced(storm, STORM, also);
  };
  const pairs = await alternatingPairs(CHAIN_PAIRS, tracedWith(false), tracedWith(true));
  const cpuRatios = pairs.map((p) => p.traced.cpuMs / p.untraced.cpuMs);
  table(
    ['pair', 'order', 'CPU, own dispatch each', 'CPU, chained', 'ratio', 'timed (connlat)', 'ends (life)'],
    pairs.map(({ index, order, untraced: own, traced: chained }) => [
      String(index + 1),
      order.replace('U', 'own').replace('T', 'chained'),
      fmtMs(own.cpuMs),
      fmtMs(chained.cpuMs),
      fmtRatio(chained.cpuMs / own.cpuMs),
      `${fmtCount(chained.timed)}/${fmtCount(STORM)}`,
      `${fmtCount(chained.lives)}/${fmtCount(2 * STORM)}`,
    ]),
    numericColumns(7),
  );
  kv(
    'median chained ÷ own dispatch, CPU',
    `${fmtRatio(median(cpuRatios))} (pairs ranged ${fmtRatio(Math.min(...cpuRatios))} – ${fmtRatio(Math.max(...cpuRatios))})`,
  );
  kv(
    'CPU per connect saved (median difference)',
    `${(((median(pairs.map((p) => p.untraced.cpuMs)) - median(pairs.map((p) => p.traced.cpuMs))) * 1000) / STORM).toFixed(2)} µs`,
  );
  const allSeen = pairs.every((p) => [p.untraced, p.traced].every((t) => t.timed === STORM && t.lives === 2 * STORM));
  kv('captures saw every connect', allSeen ? 'yes, both ways, in every run' : 'NO (see the rows)');
}
