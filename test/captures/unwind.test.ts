// User stacks through code without frame pointers, on the real kernel: C built
// with -O2 -fomit-frame-pointer, C++ templates, and a pthread mutex whose wait
// goes through libc's lock-wait function (no frame pointers either). The
// caller → callee chain must appear in profile and offcputime output, in the
// folded text and in pprof read back by the pprof-format package's reader,
// with names demangled; the stacks must reach the thread's entry.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { offcputime } from '../../src/captures/offcputime/index.js';
import { profile } from '../../src/captures/profile/index.js';
import { renderStackOutput, type StackResult } from '../../src/captures/stack-family/outputs.js';
import { snapshotLayout } from '../../src/captures/stack-family/snapshots.js';
import { projectRoot } from '../../src/util/paths.js';
import type { StackSample } from '../../src/stacks/types.js';
import { cLayout } from '../helpers/c-layout.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const skip = kernelSkipReason();

/** outer_c3 → middle_b2 → leaf_a1 for argv[1] ms; noinline so each is a frame, no frame pointers anywhere. */
const CHAIN_C = String.raw`
#include <stdlib.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
__attribute__((noinline)) unsigned long sherlock_leaf_a1(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < 2000000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}
__attribute__((noinline)) unsigned long sherlock_middle_b2(unsigned long n) { return sherlock_leaf_a1(n ^ 5) + 1; }
__attribute__((noinline)) unsigned long sherlock_outer_c3(unsigned long n) { return sherlock_middle_b2(n * 3) * 7; }
int main(int argc, char **argv)
{
	double end = now_ms() + atof(argv[1]);
	unsigned long s = 0;
	while (now_ms() < end)
		s += sherlock_outer_c3(s);
	return (int)(s & 1);
}
`;

/** A class template's member calls a function template: the names must come out demangled. */
const TEMPLATES_CPP = String.raw`
#include <chrono>
#include <cstdlib>
#include <vector>
namespace sherlock_ns {
template <typename T> __attribute__((noinline)) T mix(T x) {
	for (int i = 0; i < 1000000; i++) x = x * 31 + static_cast<T>(i);
	return x;
}
template <typename T> struct Crunch {
	__attribute__((noinline)) T run(T seed) { return mix<T>(seed) + 1; }
};
}
int main(int argc, char **argv) {
	auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::atoi(argv[1]));
	sherlock_ns::Crunch<long> c;
	long s = 0;
	while (std::chrono::steady_clock::now() < end) s += c.run(s);
	return static_cast<int>(s & 1);
}
`;

/** One thread holds a mutex while it spins; two others wait for it in take_lock_q9 for argv[1] ms. */
const MUTEX_C = String.raw`
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
__attribute__((noinline)) void sherlock_hold_lock_h7(void)
{
	pthread_mutex_lock(&m);
	for (volatile unsigned long i = 0; i < 2000000; i++)
		;
	pthread_mutex_unlock(&m);
}
__attribute__((noinline)) void sherlock_take_lock_q9(void) { pthread_mutex_lock(&m); pthread_mutex_unlock(&m); }
static void *waiter(void *a) { (void)a; while (!stop) sherlock_take_lock_q9(); return 0; }
static void *holder(void *a) { (void)a; while (!stop) sherlock_hold_lock_h7(); return 0; }
int main(int argc, char **argv)
{
	pthread_t t[3];
	struct timespec d = { 0, 0 };
	long ms = atol(argv[1]);
	pthread_create(&t[0], 0, holder, 0);
	pthread_create(&t[1], 0, waiter, 0);
	pthread_create(&t[2], 0, waiter, 0);
	d.tv_sec = ms / 1000;
	d.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&d, 0);
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	return 0;
}
`;

function build(dir: string, name: string, source: string, compiler: 'cc' | 'c++'): string {
  const src = join(dir, `${name}.${compiler === 'cc' ? 'c' : 'cpp'}`);
  const bin = join(dir, name);
  writeFileSync(src, source);
  // No frame pointers, no debug info: the stacks can only come from .eh_frame.
  execFileSync(compiler, ['-O2', '-fomit-frame-pointer', '-g0', '-pthread', '-o', bin, src], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  return bin;
}

/** Names root first, for a folded-style check of a chain. */
const names = (s: StackSample) => s.frames.map((f) => f.name);

const matches = (name: string | undefined, want: string | RegExp) => (typeof want === 'string' ? name === want : want.test(name ?? ''));

/** Does `chain` appear in order, adjacent, in the stack? */
function hasChain(s: StackSample, chain: (string | RegExp)[]): boolean {
  const n = names(s);
  return n.some((_, i) => chain.every((c, j) => matches(n[i + j], c)));
}

/** pprof read back: each sample's function names, root first. */
function pprofStacks(data: StackResult): string[][] {
  const p = Profile.decode(gunzipSync(renderStackOutput(data, 'pprof')));
  const strings = p.stringTable.strings;
  const fn = new Map(p.function.map((f) => [Number(f.id), strings[Number(f.name)]!]));
  const loc = new Map(p.location.map((l) => [Number(l.id), fn.get(Number(l.line[0]!.functionId))!]));
  return p.sample.map((s) => s.locationId.map((id) => loc.get(Number(id))!).reverse());
}

const hasPprofChain = (stacks: string[][], chain: (string | RegExp)[]) => stacks.some((n) => n.some((_, i) => chain.every((c, j) => matches(n[i + j], c))));

const ROOTS = new Set(['_start', '__clone3', '__clone', 'clone3', 'clone', 'start_thread']);

describe('stack snapshot layout', () => {
  it('matches struct stack_snapshot in bpf/common/stacks.h', () => {
    const c = cLayout(join(projectRoot, 'bpf/common/stacks.h'), {
      stack_snapshot: ['type', 'tgid', 'tid', 'kernel_stack_id', 'value', 'ip', 'sp', 'bp', 'size', 'flags', 'comm', 'group', 'data'],
    });
    const { commLen: _commLen, ...offsets } = snapshotLayout;
    expect(offsets).toEqual({
      type: c['stack_snapshot.type'],
      tgid: c['stack_snapshot.tgid'],
      tid: c['stack_snapshot.tid'],
      kernelStackId: c['stack_snapshot.kernel_stack_id'],
      value: c['stack_snapshot.value'],
      ip: c['stack_snapshot.ip'],
      sp: c['stack_snapshot.sp'],
      bp: c['stack_snapshot.bp'],
      size: c['stack_snapshot.size'],
      flags: c['stack_snapshot.flags'],
      comm: c['stack_snapshot.comm'],
      group: c['stack_snapshot.group'],
      data: c['stack_snapshot.data'],
    });
  });
});

describe.skipIf(skip)(`unwinding without frame pointers${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let chain: string;
  let templates: string;
  let mutex: string;

  beforeAll(() => {
    tmp = new TempDir();
    chain = build(tmp.path, 'sherlock-chain', CHAIN_C, 'cc');
    templates = build(tmp.path, 'sherlock-templates', TEMPLATES_CPP, 'c++');
    mutex = build(tmp.path, 'sherlock-mutex', MUTEX_C, 'cc');
  }, 300_000);
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('profile: main → outer → middle → leaf of an -O2 -fomit-frame-pointer binary, in the data, folded and pprof; stacks reach _start', async () => {
    const child = start(chain, ['1500']);
    const { result, programIds } = await captureDuring(profile, async () => void (await new Promise((r) => setTimeout(r, 1000))), {
      params: { frequency: 199 },
      target: { pid: [child.pid] },
    });
    await child.done;
    expect(stillLoaded(programIds)).toEqual([]);
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    const total = mine.reduce((a, s) => a + s.value, 0);
    expect(total).toBeGreaterThan(10); // few when the host is busy: the CPU is shared
    const expected = ['main', 'sherlock_outer_c3', 'sherlock_middle_b2', 'sherlock_leaf_a1'];
    const withChain = mine.filter((s) => hasChain(s, expected)).reduce((a, s) => a + s.value, 0);
    expect(withChain / total).toBeGreaterThan(0.8);
    const rooted = mine.filter((s) => ROOTS.has(s.frames[0]?.name ?? '')).reduce((a, s) => a + s.value, 0);
    expect(rooted / total).toBeGreaterThan(0.9);
    expect(result.unwind?.snapshots).toBeGreaterThan(0);

    expect(renderStackOutput(result, 'folded')).toContain(`_start;__libc_start_main;__libc_start_call_main;${expected.join(';')}`);
    expect(hasPprofChain(pprofStacks(result), expected)).toBe(true);
    expect(profile.text!(result)).toMatch(/reached the thread's entry/);
  });

  it('profile: C++ template names come out demangled, caller → callee', async () => {
    const child = start(templates, ['1500']);
    const { result } = await captureDuring(profile, async () => void (await new Promise((r) => setTimeout(r, 1000))), {
      params: { frequency: 199 },
      target: { pid: [child.pid] },
    });
    await child.done;
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    // GCC may clone run() (".isra.0"): c++filt shows that as "[clone .isra.0]", as gdb and perf do.
    const expected = ['main', /^sherlock_ns::Crunch<long>::run\(long\)( \[clone [^\]]+\])?$/, 'long sherlock_ns::mix<long>(long)'];
    expect(mine.some((s) => hasChain(s, expected))).toBe(true);
    expect(mine.flatMap(names).some((n) => n.startsWith('_Z'))).toBe(false);
    expect(renderStackOutput(result, 'folded')).toMatch(/;main;sherlock_ns::Crunch<long>::run\(long\)[^;]*;long sherlock_ns::mix<long>\(long\)/);
    expect(hasPprofChain(pprofStacks(result), expected)).toBe(true);
    expect(renderStackOutput(result, 'svg')).toContain('sherlock_ns::Crunch&lt;long&gt;::run(long)');
  });

  it('offcputime: the function that took a contended mutex, through libc lock-wait, down to the futex; clone3 at the root', async () => {
    const child = start(mutex, ['1500']);
    const { result, programIds } = await captureDuring(offcputime, async () => void (await new Promise((r) => setTimeout(r, 1000))), {
      target: { pid: [child.pid] },
    });
    await child.done;
    expect(stillLoaded(programIds)).toEqual([]);
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    const waiting = mine.filter((s) => s.frames.some((f) => f.name === 'sherlock_take_lock_q9'));
    expect(waiting.length).toBeGreaterThan(0);
    const lockWait = waiting.filter((s) => {
      const n = names(s);
      const at = n.indexOf('sherlock_take_lock_q9');
      return n[at - 1] === 'waiter' && n[at - 2] === 'start_thread' && /clone/.test(n[at - 3] ?? '') && /lll_lock_wait/.test(n.slice(at).join(' '));
    });
    expect(lockWait.length).toBeGreaterThan(0);
    // The kernel half ends in the futex wait.
    expect(lockWait.some((s) => s.frames.some((f) => f.kind === 'kernel' && /futex/.test(f.name)))).toBe(true);
    expect(renderStackOutput(result, 'folded')).toMatch(/start_thread;waiter;sherlock_take_lock_q9;[^ ]*lll_lock_wait/);
    expect(hasPprofChain(pprofStacks(result), ['start_thread', 'waiter', 'sherlock_take_lock_q9'])).toBe(true);
    expect(offcputime.text!(result)).toContain('sherlock_take_lock_q9');
  });

  it('with userStackBytes 0, stacks come from frame pointers in the kernel again (the -O2 chain is then not whole)', async () => {
    const child = start(chain, ['1200']);
    const { result } = await captureDuring(profile, async () => void (await new Promise((r) => setTimeout(r, 800))), {
      params: { frequency: 199, userStackBytes: 0 },
      target: { pid: [child.pid] },
    });
    await child.done;
    expect(result.unwind).toBeUndefined();
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    expect(mine.some((s) => s.frames.some((f) => f.name === 'sherlock_leaf_a1'))).toBe(true);
    // Frame pointers cannot give the whole chain here: that is what CFI is for.
    expect(mine.some((s) => hasChain(s, ['main', 'sherlock_outer_c3', 'sherlock_middle_b2', 'sherlock_leaf_a1']))).toBe(false);
  });
});
