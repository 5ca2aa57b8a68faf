// lockwait against the real kernel: a C program whose threads fight over one
// pthread mutex in a named function must show as waits on that mutex's
// address (the program prints it), with the time the waiters measured
// themselves, and the waiting stack must name the function that took the lock.
// Lock waits enter the kernel through glibc, built without frame pointers, so:
// - by default the stack goes to user space as a snapshot and is unwound by
//   CFI through glibc: ledger_append, which called pthread_mutex_lock, is named;
// - with userStackBytes 0 (the frame-pointer fallback, walked in the kernel)
//   the walk loses the frame that called into glibc: the return address into
//   sherlock_take_7f3a's caller is read through sherlock_take_7f3a's frame, so
//   sherlock_take_7f3a itself is lost (no sibling-call optimisation, so it has
//   one) and sherlock_contend_7f3a, the function below it, is named.
// And Python's GIL: threads taking it back from sleeps while another thread
// computes in pure Python are one GIL finding, its mutex no contended lock.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { keyLayout, valueLayout } from '../../src/captures/lockwait/decode.js';
import { lockwait, lockwaitText } from '../../src/captures/lockwait/index.js';
import { callerFrame } from '../../src/captures/lockwait/analyze.js';
import { projectRoot } from '../../src/util/paths.js';
import { cRecordLayout } from '../helpers/c-layout.js';
import { testPythons } from '../helpers/pythons.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const skip = kernelSkipReason();

/** Three threads each sleep 1 ms 300 times (the GIL released, then taken back) while a fourth computes; prints the seconds their sleeps overran. */
const GIL_SCRIPT = `import threading, time
def compute(until):
    x = 0
    while time.monotonic() < until: x += 1
def sleeper(out, i):
    start = time.monotonic()
    for _ in range(300): time.sleep(0.001)
    out[i] = time.monotonic() - start - 0.3
until = time.monotonic() + 30
threading.Thread(target=compute, args=(until,), daemon=True).start()
out = [0.0] * 3
threads = [threading.Thread(target=sleeper, args=(out, i)) for i in range(3)]
for t in threads: t.start()
for t in threads: t.join()
print(sum(out))`;

/**
 * argv[1] threads × argv[2] appends to one ledger under one mutex, each holding
 * it argv[3] µs (sleeping). ledger_writer → ledger_append → pthread_mutex_lock,
 * neither inlined; ledger_append's call is no tail call (it unlocks after).
 * Prints the mutex's address.
 */
const LEDGER_C = String.raw`
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static long ledger[1024];
static int entries, rounds, hold_us;

__attribute__((noinline)) void ledger_append(long v)
{
	pthread_mutex_lock(&ledger_lock);
	ledger[entries++ % 1024] = v;
	usleep(hold_us);
	pthread_mutex_unlock(&ledger_lock);
}

__attribute__((noinline)) void *ledger_writer(void *arg)
{
	for (int r = 0; r < rounds; r++) ledger_append((long)arg * 1000 + r);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	pthread_t t[64];

	rounds = atoi(argv[2]);
	hold_us = atoi(argv[3]);
	if (n < 1 || n > 64) return 2;
	printf("%p\n", (void *)&ledger_lock);
	fflush(stdout);
	for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, ledger_writer, (void *)i);
	for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
	return 0;
}
`;

/**
 * argv[1] threads × argv[2] rounds of: lock, hold argv[3] µs (sleeping), unlock,
 * in sherlock_contend_7f3a. Prints the mutex's address, then the µs its
 * threads spent in pthread_mutex_lock, summed.
 */
const CONTEND_C = String.raw`
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t sherlock_lock_7f3a = PTHREAD_MUTEX_INITIALIZER;
static int rounds, hold_us;
static double waited_us[64];

static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }

__attribute__((noinline)) void sherlock_take_7f3a(void) { pthread_mutex_lock(&sherlock_lock_7f3a); }

__attribute__((noinline)) double sherlock_contend_7f3a(void)
{
	double t0 = now_us(), w;
	sherlock_take_7f3a();
	w = now_us() - t0;
	usleep(hold_us);
	pthread_mutex_unlock(&sherlock_lock_7f3a);
	return w;
}

static void *worker(void *arg)
{
	long i = (long)arg;
	for (int r = 0; r < rounds; r++) waited_us[i] += sherlock_contend_7f3a();
	return NULL;
}

int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	pthread_t t[64];
	double total = 0;

	rounds = atoi(argv[2]);
	hold_us = atoi(argv[3]);
	if (n < 1 || n > 64) return 2;
	printf("%p\n", (void *)&sherlock_lock_7f3a);
	fflush(stdout);
	for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
	for (int i = 0; i < n; i++) total += waited_us[i];
	printf("%.0f\n", total);
	return 0;
}
`;

describe('lockwait records', () => {
  it('match bpf/lockwait/lockwait.h', () => {
    const header = join(projectRoot, 'bpf/lockwait/lockwait.h');
    for (const layout of [keyLayout, valueLayout]) {
      expect(cRecordLayout(header, layout)).toEqual({ struct: layout.struct, size: layout.size, offsets: layout.offsets });
    }
  });

  it('finds the caller below the lock implementation', () => {
    const frames = [
      { name: 'main', kind: 'user' as const, module: 'app' },
      { name: 'handle', kind: 'user' as const, module: 'app' },
      { name: '___pthread_mutex_lock', kind: 'user' as const, module: 'libc.so.6' },
      { name: '__lll_lock_wait', kind: 'user' as const, module: 'libc.so.6' },
    ];
    expect(callerFrame(frames)?.name).toBe('handle');
    expect(callerFrame(frames.slice(2))).toBeUndefined();
  });
});

describe.skipIf(skip)(`lockwait on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let contend: string;
  let ledgerBin: string;

  beforeAll(() => {
    tmp = new TempDir();
    contend = join(tmp.path, 'sherlock-contend');
    const src = join(tmp.path, 'contend.c');
    writeFileSync(src, CONTEND_C);
    execFileSync('cc', ['-O2', '-g', '-pthread', '-fno-omit-frame-pointer', '-fno-optimize-sibling-calls', '-o', contend, src], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 60_000,
    });
    ledgerBin = join(tmp.path, 'sherlock-ledger');
    writeFileSync(join(tmp.path, 'ledger.c'), LEDGER_C);
    execFileSync('cc', ['-O2', '-g', '-pthread', '-fno-omit-frame-pointer', '-o', ledgerBin, join(tmp.path, 'ledger.c')], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 60_000,
    });
  });
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('by frame pointers (userStackBytes 0): names the process, the mutex address, the wait time and the function below the lost frame', async () => {
    let pid = 0;
    let lock = '';
    let measuredUs = 0;
    const { result, programIds } = await captureDuring(
      lockwait,
      async () => {
        const child = start(contend, ['4', '60', '2000']);
        pid = child.pid;
        const done = await child.done;
        expect(done.code).toBe(0);
        const [addr, waited] = done.stdout.trim().split('\n');
        lock = addr!;
        measuredUs = Number(waited);
      },
      { params: { userStackBytes: 0 } },
    );
    expect(stillLoaded(programIds)).toEqual([]);
    expect(result.unwind).toBeUndefined();
    // 4 threads, 60 rounds, 2 ms held: the other three wait most of the time.
    expect(measuredUs).toBeGreaterThan(200_000);

    const mine = result.locks.filter((l) => l.pid === pid && l.kind === 'mutex');
    expect(mine.map((l) => l.lock)).toEqual([lock]);
    const row = mine[0]!;
    expect(row.comm).toBe('sherlock-conten');
    // The kernel's time blocked is under what the threads measured around the lock call (which adds
    // the spin before the wait and, on a busy machine, the run-queue wait after a failed retry).
    expect(row.totalUs).toBeGreaterThan(measuredUs * 0.5);
    expect(row.totalUs).toBeLessThan(measuredUs * 1.1);
    expect(row.waits).toBeGreaterThan(20);

    const stacks = result.stacks.filter((s) => s.pid === pid && s.lock === lock);
    const heaviest = stacks[0]!;
    const names = heaviest.frames.map((f) => f.name);
    expect(names, names.join(' ← ')).toContain('sherlock_contend_7f3a');
    expect(heaviest.frames.every((f) => f.kind !== 'kernel')).toBe(true);
    expect(lockwaitText(result)).toContain(lock);

    const windowSeconds = result.durationMs / 1000;
    const ctx = { node: 'web-1', capture: 'lockwait', file: 'nodes/web-1/lockwait.json', thresholds: mergeThresholds(), windowSeconds };
    const { findings } = lockwait.analysis!.analyze(result as never, ctx);
    const f = findings.find((x) => x.id === `lockwait:web-1:lock:${pid}:${lock}`);
    expect(f, findings.map((x) => x.title).join('\n')).toBeDefined();
    expect(f!.title).toContain(`sherlock-conten (pid ${pid}) on web-1 waited`);
    expect(f!.title).toContain(`on lock ${lock}`);
    expect(f!.title).toMatch(/\(\d+% of the [\d.]+ s window, summed over threads\)/);
    expect(f!.title).toContain('waiting in sherlock_contend_7f3a');
    expect((f!.evidence.impact as { windowShareLost: number }).windowShareLost).toBeCloseTo(row.totalUs / (windowSeconds * 1e6), 2);

    const metrics = lockwait.baseline!(result as never);
    expect(metrics.find((m) => m.metric === 'lock wait time of sherlock-conten (share of the window)')!.value).toBeGreaterThan(5);
  });

  it('by CFI from snapshots (the default): names ledger_append, the function that called pthread_mutex_lock, not its caller', async () => {
    let pid = 0;
    let lock = '';
    const { result, programIds } = await captureDuring(lockwait, async () => {
      const child = start(ledgerBin, ['4', '50', '2000']);
      pid = child.pid;
      const done = await child.done;
      expect(done.code).toBe(0);
      lock = done.stdout.trim().split('\n')[0]!;
    });
    expect(stillLoaded(programIds)).toEqual([]);
    expect(result.unwind?.snapshots).toBeGreaterThan(20);

    const mine = result.locks.filter((l) => l.pid === pid && l.kind === 'mutex');
    expect(mine.map((l) => l.lock)).toEqual([lock]);
    expect(mine[0]!.waits).toBeGreaterThan(20);

    const heaviest = result.stacks.find((s) => s.pid === pid && s.lock === lock)!;
    const names = heaviest.frames.map((f) => f.name);
    // Unwound through glibc (libc frames present) down to the thread's entry.
    expect(names.slice(-4).join(' ← '), names.join(' ← ')).toMatch(
      /ledger_writer.*ledger_append.*pthread_mutex_lock|ledger_writer.*ledger_append.*__lll_lock_wait/,
    );
    expect(callerFrame(heaviest.frames)?.name, names.join(' ← ')).toBe('ledger_append');
    // The table's FROM column (this process only: other processes' waits may fill the top rows).
    const own = { ...result, locks: mine, stacks: result.stacks.filter((s) => s.pid === pid) };
    expect(lockwaitText(own)).toMatch(new RegExp(`${lock}\\s+mutex\\s+ledger_append`));

    const windowSeconds = result.durationMs / 1000;
    const ctx = { node: 'web-1', capture: 'lockwait', file: 'nodes/web-1/lockwait.json', thresholds: mergeThresholds(), windowSeconds };
    const { findings } = lockwait.analysis!.analyze(result as never, ctx);
    const f = findings.find((x) => x.id === `lockwait:web-1:lock:${pid}:${lock}`);
    expect(f, findings.map((x) => x.title).join('\n')).toBeDefined();
    expect(f!.title).toContain('waiting in ledger_append');
    expect(f!.evidence.callers).toEqual(['ledger_append']);
  });

  for (const py of testPythons())
    it.skipIf(py.skip)(
      `Python ${py.version}: threads waiting to take the GIL back from a thread computing in pure Python are one GIL finding for the process, not a contended lock${py.skip ? ` (skipped: ${py.skip})` : ''}`,
      async () => {
        let pid = 0;
        let overran = 0;
        const { result } = await captureDuring(lockwait, async () => {
          const child = start(py.python, ['-c', GIL_SCRIPT]);
          pid = child.pid;
          const done = await child.done;
          expect(done.code).toBe(0);
          overran = Number(done.stdout.trim());
        });
        const windowSeconds = result.durationMs / 1000;
        const ctx = { node: 'web-1', capture: 'lockwait', file: 'nodes/web-1/lockwait.json', thresholds: mergeThresholds(), windowSeconds };
        const { findings } = lockwait.analysis!.analyze(result as never, ctx);
        const mine = findings.filter((f) => f.evidence.pid === pid);
        expect(
          mine.map((f) => f.id),
          mine.map((f) => f.title).join('\n'),
        ).toEqual([`lockwait:web-1:gil:${pid}`]);
        expect(mine[0]!.title).toMatch(
          // The process's name, though python3.14 names its threads ("Thread-2 (sleeper)") and they are the ones that waited.
          new RegExp(`^${py.comm.replace('.', '\\.')} \\(pid ${pid}\\) on web-1: its threads waited [\\d.]+ m?s for Python's GIL`),
        );
        expect(mine[0]!.links).toEqual({ shows: [`gil-of:${pid}`], explains: [`blocked-pid:${pid}`, `gil-wait:${pid}`] });
        // What the sleepers measured beyond their sleeps is mostly their wait for the GIL.
        const waitedS = Number(mine[0]!.evidence.waitMs) / 1000;
        expect(overran).toBeGreaterThan(0.5);
        expect(waitedS).toBeGreaterThan(overran * 0.6);
        expect(waitedS).toBeLessThan(overran * 1.3);
      },
    );
});
