// offcputime against the real kernel: a C child sleeping 20 × 50 ms in
// nanosleep must show up with the nanosleep stack, weighted by the time it
// measured itself asleep; states and thresholds must filter; nothing may stay
// loaded.
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stateMask } from '../../src/captures/offcputime/setup.js';
import { offcputime, valueLayout, waitFrame, type OffcpuStack } from '../../src/captures/offcputime/index.js';
import { stackKeyLayout } from '../../src/captures/stack-family/stack-maps.js';
import { projectRoot } from '../../src/util/paths.js';
import { cRecordLayout } from '../helpers/c-layout.js';
import { renderStackOutput } from '../../src/captures/stack-family/outputs.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';
import { paramsSchema } from '../../src/captures/params-schema.js';

const skip = kernelSkipReason();

/** argv[1] × usleep(argv[2] µs) in sherlock_nap_4b2e; prints the µs it measured asleep. */
const SLEEPER_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

__attribute__((noinline)) void sherlock_nap_4b2e(useconds_t us)
{
	usleep(us);
}

int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	useconds_t us = atoi(argv[2]);
	double asleep = 0;

	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		sherlock_nap_4b2e(us);
		asleep += now_us() - t0;
	}
	printf("%.0f\n", asleep);
	return 0;
}
`;

/** argv[1] × poll() with no descriptors for argv[2] ms: a sleep the capture keeps (poll is where a resolver waits). */
const POLLER_C = String.raw`
#include <poll.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	for (int i = 0; i < atoi(argv[1]); i++)
		poll(NULL, 0, atoi(argv[2]));
	return 0;
}
`;

/** argv[1] recv()s on a datagram socket nothing is sent to, each given up after argv[2] ms. */
const RECEIVER_C = String.raw`
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

int main(int argc, char **argv)
{
	int pair[2];
	char c;
	struct timeval timeout = { 0, atoi(argv[2]) * 1000 };

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) || setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)))
		return 2;
	for (int i = 0; i < atoi(argv[1]); i++)
		recv(pair[0], &c, 1, 0);
	return 0;
}
`;

const NANOSLEEP = new Set(['do_nanosleep', 'hrtimer_nanosleep']);
/** Sleeps in nanosleep are idle syscalls, left out unless asked for. */
const COUNT_IDLE = { idleSyscalls: true };
const isNanosleep = (s: OffcpuStack) => s.frames.some((f) => f.kind === 'kernel' && NANOSLEEP.has(f.name));
/** A nap of the sleeper by its kernel frames, or by its user frame when the kernel stack was lost (a full stack map on a loaded host). */
const isNap = (s: OffcpuStack) => isNanosleep(s) || s.frames.some((f) => f.name === 'sherlock_nap_4b2e');

describe('offcputime layout and states', () => {
  it('its value matches bpf/offcputime/offcputime.h (the key is bpf/common/stacks.h, checked with profile)', () => {
    const header = join(projectRoot, 'bpf/offcputime/offcputime.h');
    expect(cRecordLayout(header, valueLayout)).toEqual({ struct: valueLayout.struct, size: valueLayout.size, offsets: valueLayout.offsets });
    expect(cRecordLayout(join(projectRoot, 'bpf/common/stacks.h'), stackKeyLayout).size).toBe(stackKeyLayout.size);
  });

  it('maps state letters to sched_switch prev_state bits (R: none of the low 8 set)', () => {
    expect(stateMask('SD')).toBe(0x3);
    expect(stateMask('R')).toBe(0x100);
    expect(stateMask('SSDI')).toBe(0x83);
    expect(paramsSchema(offcputime).safeParse({ states: 'SX' }).success).toBe(true);
    expect(paramsSchema(offcputime).safeParse({ states: 'Q' }).success).toBe(false);
  });
});

describe.skipIf(skip)(`offcputime on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let sleeper: string;
  let poller: string;
  let receiver: string;

  beforeAll(() => {
    tmp = new TempDir();
    sleeper = tmp.compileC('sherlock-sleeper', SLEEPER_C);
    poller = tmp.compileC('sherlock-poller', POLLER_C);
    receiver = tmp.compileC('sherlock-receiver', RECEIVER_C);
  });
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('weights the nanosleep stack of a sleeping child by the time it slept', async () => {
    let pid = 0;
    let asleepUs = 0;
    const { result, programIds } = await captureDuring(
      offcputime,
      async () => {
        const child = start(sleeper, ['20', '50000']);
        pid = child.pid;
        const done = await child.done;
        expect(done.code).toBe(0);
        asleepUs = Number(done.stdout.trim());
      },
      { params: COUNT_IDLE },
    );
    expect(stillLoaded(programIds)).toEqual([]);
    expect(result.kind).toBe('stacks');
    expect(result.sampleType).toEqual({ type: 'off-cpu', unit: 'microseconds' });
    expect(asleepUs).toBeGreaterThan(900_000);

    const mine = result.stacks.filter((s) => s.pid === pid);
    const naps = mine.filter(isNanosleep);
    expect(naps.length).toBeGreaterThan(0);
    const napUs = naps.reduce((a, s) => a + s.value, 0);
    expect(napUs).toBeGreaterThan(asleepUs * 0.8);
    expect(napUs).toBeLessThan(asleepUs * 1.2);
    const blocks = mine.filter(isNap).reduce((a, s) => a + s.blocks, 0);
    expect(blocks).toBeGreaterThanOrEqual(20);
    expect(blocks).toBeLessThanOrEqual(24);
    // Sleeps of 10 ms or more are counted by the thread that slept, idle syscalls counted or not.
    expect([...new Set(naps.flatMap((s) => (s.threads ?? []).map(([tid]) => tid)))]).toEqual([pid]);
    // Root first: user frames, then the kernel path down to the scheduler.
    const heaviest = naps.sort((a, b) => b.value - a.value)[0]!;
    const firstKernel = heaviest.frames.findIndex((f) => f.kind === 'kernel');
    expect(firstKernel).toBeGreaterThan(0);
    expect(heaviest.frames.slice(firstKernel).every((f) => f.kind === 'kernel')).toBe(true);
    expect(heaviest.frames.slice(0, firstKernel).map((f) => f.name)).toContain('main');
    expect(heaviest.comm).toBe('sherlock-sleepe'); // TASK_COMM_LEN cuts it
    expect(NANOSLEEP.has(waitFrame(heaviest)?.name ?? '') || waitFrame(heaviest)?.name === 'common_nsleep').toBe(true);

    // Outputs carry the weights.
    const folded = renderStackOutput(result, 'folded') as string;
    expect(folded).toMatch(/do_nanosleep|hrtimer_nanosleep/);
    const pprof = Profile.decode(gunzipSync(renderStackOutput(result, 'pprof') as Buffer));
    expect(pprof.sample.reduce((a, s) => a + Number(s.value[0]), 0)).toBe(result.total);
    expect(offcputime.text!(result)).toContain('sherlock-sleepe');
    expect(offcputime.table(result).rows.length).toBe(Math.min(result.top, result.stacks.length));
  });

  it('counts only the states asked for, and blocks within the bounds', async () => {
    let pid = 0;
    // Only R (preempted): a sleeper's naps are state S, so none of them count.
    const { result: preempted } = await captureDuring(
      offcputime,
      async () => {
        const child = start(sleeper, ['5', '20000']);
        pid = child.pid;
        await child.done;
      },
      { params: { states: 'R', ...COUNT_IDLE } },
    );
    expect(preempted.states).toBe('R');
    expect(preempted.stacks.filter((s) => s.pid === pid).filter(isNap)).toEqual([]);

    // Naps of 20 ms, but only blocks of 1–5 ms counted.
    const { result: short } = await captureDuring(
      offcputime,
      async () => {
        const child = start(sleeper, ['5', '20000']);
        pid = child.pid;
        await child.done;
      },
      { params: { minBlockUs: 1000, maxBlockUs: 5000, ...COUNT_IDLE } },
    );
    expect(short.stacks.filter((s) => s.pid === pid).filter(isNap)).toEqual([]);

    // Naps of 20 ms with a 10 ms minimum: all five counted (a nap by its user frame when the loaded host lost its kernel stack).
    const { result: long } = await captureDuring(
      offcputime,
      async () => {
        const child = start(sleeper, ['5', '20000']);
        pid = child.pid;
        await child.done;
      },
      { params: { minBlockUs: 10_000, ...COUNT_IDLE }, target: { comm: 'sherlock-sleepe' } },
    );
    const naps = long.stacks.filter((s) => s.pid === pid).filter(isNap);
    expect(naps.reduce((a, s) => a + s.blocks, 0)).toBe(5);
    expect(long.stacks.every((s) => s.comm === 'sherlock-sleepe')).toBe(true);
  });

  it('leaves out sleeps in syscalls that only wait for work and timed sleeps under 10 ms by default; keeps the others (poll), longer sleeps and who slept them', async () => {
    let [shortNapper, longNapper, pollerPid, python] = [0, 0, 0, 0];
    const { result } = await captureDuring(offcputime, async () => {
      const short = start(sleeper, ['5', '5000']); // usleep: clock_nanosleep, relative
      const long = start(sleeper, ['5', '20000']);
      const polls = start(poller, ['5', '20']);
      // time.sleep: clock_nanosleep to a CLOCK_MONOTONIC deadline (TIMER_ABSTIME)
      const py = start('/usr/bin/python3', ['-c', 'import time\nfor _ in range(5): time.sleep(0.03)\nfor _ in range(20): time.sleep(0.002)']);
      [shortNapper, longNapper, pollerPid, python] = [short.pid, long.pid, polls.pid, py.pid];
      await Promise.all([short.done, long.done, polls.done, py.done]);
    });
    expect(result.stacks.filter((s) => s.pid === shortNapper)).toEqual([]);
    const napsOf = (pid: number) => result.stacks.filter((s) => s.pid === pid).filter(isNap);
    expect(napsOf(longNapper).reduce((a, s) => a + s.blocks, 0)).toBe(5);
    const pythonSleeps = result.stacks.filter((s) => s.pid === python && isNanosleep(s));
    expect(pythonSleeps.reduce((a, s) => a + s.blocks, 0)).toBe(5);
    // A timed sleep's stack names the threads that slept in it: each process's main thread here; a poll's does not.
    expect(napsOf(longNapper).flatMap((s) => s.threads ?? [])).toEqual([[longNapper, expect.any(Number)]]);
    expect(napsOf(longNapper)[0]!.threads![0]![1]).toBeGreaterThanOrEqual(5 * 20_000);
    expect([...new Set(pythonSleeps.flatMap((s) => (s.threads ?? []).map(([tid]) => tid)))]).toEqual([python]);
    // A poll by its kernel frames, or by libc's poll when the loaded host lost its kernel stack; of its 5, one may go
    // unnamed there (its kernel stack lost, its user frames unread once it exited: 4 of 5 in two full runs).
    const isPoll = (f: OffcpuStack['frames'][number]) => (f.kind === 'kernel' ? /^do_sys_poll|^do_poll/.test(f.name) : /^(__)?poll$/.test(f.name));
    const polled = result.stacks.filter((s) => s.pid === pollerPid && s.frames.some(isPoll));
    expect(polled.reduce((a, s) => a + s.blocks, 0)).toBeGreaterThanOrEqual(4);
    expect(polled.reduce((a, s) => a + s.value, 0)).toBeGreaterThan(4 * 20_000 * 0.9);
    expect(polled.every((s) => s.threads === undefined)).toBe(true);
  });

  it("leaves out kernel threads' own sleeps by default, before their stack walks; counts them when asked", async () => {
    const kernelThreadBlocks = async (params: Record<string, unknown>) => {
      const { result } = await captureDuring(offcputime, () => new Promise((resolve) => setTimeout(resolve, 800)), { params });
      // Started by kthread() with no user frame (a kworker, ksoftirqd, rcu's threads: some always run on an idle host).
      const own = result.stacks.filter((s) => s.frames.some((f) => f.kind === 'kernel' && f.name === 'kthread') && s.frames.every((f) => f.kind === 'kernel'));
      return own.reduce((n, s) => n + s.blocks, 0);
    };
    expect(await kernelThreadBlocks({})).toBe(0);
    expect(await kernelThreadBlocks({ kernelThreads: true })).toBeGreaterThan(0);
  });

  it("leaves out a socket's recv waits by default (waiting for data), before their stack walks; counts them when asked", async () => {
    const receives = async (params: Record<string, unknown>) => {
      let pid = 0;
      const { result } = await captureDuring(
        offcputime,
        async () => {
          const child = start(receiver, ['5', '20']);
          pid = child.pid;
          expect((await child.done).code).toBe(0);
        },
        { params },
      );
      const isRecv = (f: OffcpuStack['frames'][number]) =>
        f.kind === 'kernel' ? f.name === '__skb_wait_for_more_packets' : /^(__libc_)?recv(from)?$/.test(f.name);
      return result.stacks.filter((s) => s.pid === pid && s.frames.some(isRecv)).reduce((n, s) => n + s.blocks, 0);
    };
    expect(await receives({})).toBe(0);
    // Its 5 recvs; one may go unnamed on a loaded host (its kernel stack lost in the stack map, its user frames unread once it exited).
    expect(await receives(COUNT_IDLE)).toBeGreaterThanOrEqual(4);
  });

  it('counts a futex wait by the thread that waited: a worker parked in Event.wait, its main thread in Thread.join', async () => {
    let [pid, worker] = [0, 0];
    const { result } = await captureDuring(offcputime, async () => {
      const py = start('/usr/bin/python3', [
        '-c',
        'import threading\ne = threading.Event()\nt = threading.Thread(target=lambda: [e.wait(0.02) for _ in range(5)])\nt.start(); t.join(); print(t.native_id)',
      ]);
      pid = py.pid;
      const done = await py.done;
      expect(done.code).toBe(0);
      worker = Number(done.stdout.trim());
    });
    // Its futex waits by thread (a process this short-lived may leave its Python frames unread: by the kernel's frame).
    const byThread = new Map<number, number>();
    for (const s of result.stacks.filter((s) => s.pid === pid && s.frames.some((f) => f.kind === 'kernel' && f.name === 'futex_do_wait')))
      for (const [tid, us] of s.threads ?? []) byThread.set(tid, (byThread.get(tid) ?? 0) + us);
    // The worker's five waits of 20 ms, each to its timeout; the main thread's join, as long.
    expect([...byThread.keys()].sort()).toEqual([pid, worker].sort());
    expect(byThread.get(worker)).toBeGreaterThanOrEqual(5 * 20_000 * 0.9);
    expect(byThread.get(pid)).toBeGreaterThanOrEqual(5 * 20_000 * 0.9);
  });
});
