// Overhead of the cause captures on a storm of their own events, traced vs
// untraced, alternating (order swapped every pair, so drift hits both sides):
//   lockwait:    threads fighting over one mutex (futex wait/wake storm);
//   tcpdrop:     loopback connects to a closed port (a NO_SOCKET drop each,
//                through skb:kfree_skb), with sk_data_ready on the hot path;
//   cputhrottle: no BPF, so no cost on the workload; what it costs is reading
//                cgroup files, timed for a host with many quota cgroups.
// Each storm is a C helper timed from spawn() to exit; in a traced run the
// capture is live in this process before the storm starts and aborted after.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureDefinition, CaptureResult } from '../src/captures/capture.js';
import { cputhrottle } from '../src/captures/cputhrottle/index.js';
import { lockwait } from '../src/captures/lockwait/index.js';
import type { LockwaitData } from '../src/captures/lockwait/types.js';
import { runCapture } from '../src/captures/run-capture.js';
import { tcpdrop } from '../src/captures/tcpdrop/index.js';
import { runTimed, TempDir } from './processes.js';
import { alternatingPairs, fmtCount, fmtMs, fmtRatio, kv, median, note, numericColumns, section, table, verdict } from './report.js';

const PAIRS = 8;
const RUN_TIMEOUT_MS = 120_000;
const CAPTURE_BOUND_MS = 300_000;

/** argv[1] threads × argv[2] lock/unlock rounds on one mutex, yielding the CPU inside (so the others block on it). */
const MUTEX_STORM_C = String.raw`
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long rounds;
static volatile unsigned long shared;
static void *worker(void *arg) {
	(void)arg;
	for (long r = 0; r < rounds; r++) {
		pthread_mutex_lock(&lock);
		shared++;
		sched_yield();
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}
int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	pthread_t t[16];
	rounds = atol(argv[2]);
	if (n < 1 || n > 16) return 2;
	for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
	return 0;
}
`;

/** argv[1] connects to 127.0.0.1:argv[2] (nothing listens: refused, one dropped SYN each); prints how many were refused. */
const REFUSED_STORM_C = String.raw`
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
	long n = atol(argv[1]);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long refused = 0;
	for (long i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0) return 3;
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) return 4; /* someone listens there */
		refused += errno == ECONNREFUSED;
		close(s);
	}
	printf("%ld\n", refused);
	return refused ? 0 : 5;
}
`;

interface Traced<R> {
  ms: number;
  result: R;
}

async function timed(helper: string, args: string[]): Promise<number> {
  const run = await runTimed(helper, args, { timeoutMs: RUN_TIMEOUT_MS });
  if (run.code !== 0) throw new Error(`${helper} failed: exit ${run.code ?? run.signal}`);
  return run.ms;
}

async function tracedRun<P, D>(def: CaptureDefinition<P, D>, params: unknown, helper: string, args: string[]): Promise<Traced<CaptureResult<D>>> {
  const abort = new AbortController();
  let markLive = () => {};
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const capture = runCapture(def, { durationMs: CAPTURE_BOUND_MS, params, signal: abort.signal, onLive: () => markLive() });
  const endedEarly = capture.then(() => Promise.reject(new Error('capture ended before its probes were live')));
  endedEarly.catch(() => {});
  await Promise.race([live, endedEarly]);
  let ms: number | undefined;
  let failure: unknown;
  try {
    ms = await timed(helper, args);
  } catch (err) {
    failure = err;
  }
  abort.abort();
  const result = await capture;
  if (ms === undefined) throw failure;
  return { ms, result };
}

async function stormPairs<P, D>(
  label: string,
  def: CaptureDefinition<P, D>,
  params: unknown,
  helper: string,
  args: string[],
  seen: (result: CaptureResult<D>) => string,
): Promise<number> {
  await timed(helper, args); // warm-up, untimed
  const rows: string[][] = [];
  const ratios: number[] = [];
  const plain: number[] = [];
  const traced: number[] = [];
  const bpf: number[] = [];
  const pairs = await alternatingPairs(
    PAIRS,
    () => timed(helper, args),
    () => tracedRun(def, params, helper, args),
  );
  for (const { index, order, untraced: u, traced: t } of pairs) {
    plain.push(u);
    traced.push(t.ms);
    ratios.push(t.ms / u);
    bpf.push(t.result.bpfCpuNs);
    rows.push([
      String(index + 1),
      order,
      fmtMs(u),
      fmtMs(t.ms),
      fmtRatio(t.ms / u),
      fmtCount(t.result.bpfRunCount),
      `${(t.result.bpfCpuNs / 1e6).toFixed(2)} ms`,
      fmtCount(t.result.dropped),
      seen(t.result),
    ]);
  }
  section(label);
  table(['pair', 'order', 'untraced', 'traced', 'ratio', 'BPF runs', 'BPF time', 'drops', 'seen'], rows, numericColumns(9));
  kv('median untraced / traced', `${fmtMs(median(plain))} / ${fmtMs(median(traced))}`);
  kv('estimate from kernel accounting', `${fmtRatio(1 + median(bpf) / 1e6 / median(plain))} (1 + BPF time ÷ untraced time; a lower bound)`);
  kv('ratio of medians', fmtRatio(median(traced) / median(plain)));
  kv('median of pair ratios', `${fmtRatio(median(ratios))} (pairs ranged ${fmtRatio(Math.min(...ratios))} – ${fmtRatio(Math.max(...ratios))})`);
  return median(ratios);
}

export async function lockwaitOverhead(): Promise<void> {
  const tmp = new TempDir('lockwait');
  try {
    const helper = tmp.compileC('mutex-storm', MUTEX_STORM_C);
    const args = ['4', '50000'];
    const seen = (r: CaptureResult<LockwaitData>) => {
      const mine = r.locks.filter((l) => l.comm === 'mutex-storm' && l.kind === 'mutex');
      return `${fmtCount(mine.reduce((n, l) => n + l.waits, 0))} waits on ${mine.length} lock(s), ${fmtCount(r.unwind?.snapshots ?? 0)} unwound`;
    };
    // Side by side: the default (each counted wait's stack copied and unwound by CFI) and frame pointers in the kernel.
    const cfi = await stormPairs(
      `${PAIRS} pairs: 4 threads × 50k lock/yield/unlock of one mutex, lockwait live (every futex wait timed, stacks unwound by CFI from 8 KiB snapshots)`,
      lockwait,
      {},
      helper,
      args,
      seen,
    );
    const fp = await stormPairs(
      `${PAIRS} pairs: the same, lockwait with userStackBytes 0 (stacks by frame pointers in the kernel)`,
      lockwait,
      { userStackBytes: 0 },
      helper,
      args,
      seen,
    );
    note('seen = contended-lock waits lockwait counted for the helper (each one a FUTEX_WAIT that blocked), and stacks unwound from snapshots');
    kv('snapshots vs frame pointers', `${fmtRatio(cfi)} vs ${fmtRatio(fp)} (median pair ratios)`);
    verdict(cfi <= 1.1, `median pair ratio ${fmtRatio(cfi)} (snapshots) vs ≤1.10× (a futex storm is the worst case: every wait is a syscall pair)`);
  } finally {
    tmp.remove();
  }
}

export async function tcpdropOverhead(): Promise<void> {
  const tmp = new TempDir('tcpdrop');
  try {
    const helper = tmp.compileC('refused-storm', REFUSED_STORM_C);
    // Below the ephemeral range: a connect to a port in it can pick that same port as its source and connect to itself.
    const port = 29000 + (process.pid % 1000);
    const args = ['20000', String(port)];
    const ratio = await stormPairs(`${PAIRS} pairs: 20k loopback connects refused (one NO_SOCKET drop each), tcpdrop live`, tcpdrop, {}, helper, args, (r) => {
      const mine = r.rows.filter((row) => row.destination === `127.0.0.1:${port}`);
      return `${fmtCount(mine.reduce((n, row) => n + row.drops, 0))} drops (${[...new Set(mine.map((row) => row.reason))].join(', ')})`;
    });
    note("seen = drops tcpdrop counted to the helper's port");
    verdict(ratio <= 1.05, `median pair ratio ${fmtRatio(ratio)} vs ≤1.05×`);
  } finally {
    tmp.remove();
  }
}

const CGROUPS = 200;

export async function cputhrottleCost(): Promise<void> {
  const root = '/sys/fs/cgroup/cpu';
  if (!existsSync(join(root, 'cpu.cfs_quota_us'))) {
    note(`skipped: no cgroup v1 cpu hierarchy at ${root}`);
    return;
  }
  const made: string[] = [];
  try {
    for (let i = 0; i < CGROUPS; i++) {
      const dir = join(root, `sherlock-bench-${process.pid}-${i}`);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), '50000');
    }
    const windows: number[] = [];
    let rows = 0;
    for (let i = 0; i < 10; i++) {
      const t0 = process.hrtime.bigint();
      const result = await runCapture(cputhrottle, { durationMs: 1 });
      windows.push(Number(process.hrtime.bigint() - t0) / 1e6 - result.durationMs);
      rows = result.rows.length;
    }
    section(`cputhrottle: both window ends (start + end reads) with ${CGROUPS} quota cgroups made for it`);
    kv('cgroups in the result', fmtCount(rows));
    kv('time outside the window, median of 10', `${fmtMs(median(windows))} (both reads, all cgroups; no cost while the window runs)`);
    kv('per cgroup', `${((median(windows) / Math.max(1, rows)) * 1000).toFixed(1)} µs`);
    note('no BPF programs: its overhead on a throttled workload is zero by construction; the kernel counts throttling itself');
  } finally {
    for (const dir of made.reverse()) rmdirSync(dir);
  }
}
