// offcputime's long epoll waits against the real kernel: idle syscalls are
// left out, but an epoll wait of minPollWaitUs or more is timed at its exit
// and counted by thread with its user stack (a program waiting for a lock
// through its own event loop waits there). Short waits and minPollWaitUs: 0
// must leave them out; nothing may stay loaded.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { offcputime, type OffcpuStack } from '../../src/captures/offcputime/index.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const skip = kernelSkipReason();

/**
 * A worker thread does argv[1] × epoll_wait(argv[2] ms) on an empty epoll set in sherlock_poll_wait_7c1d;
 * prints its tid and the µs it measured inside them. A worker, not main: the count must be by thread.
 */
const EPOLLER_C = String.raw`
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static int n, ms;
static double waited;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

__attribute__((noinline)) int sherlock_poll_wait_7c1d(int ep, int timeout_ms)
{
	struct epoll_event ev;
	return epoll_wait(ep, &ev, 1, timeout_ms);
}

static void *worker(void *arg)
{
	int ep = epoll_create1(0);

	if (ep < 0)
		exit(2);
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		if (sherlock_poll_wait_7c1d(ep, ms) != 0)
			exit(3);
		waited += now_us() - t0;
	}
	printf("%d %.0f\n", gettid(), waited);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	n = atoi(argv[1]);
	ms = atoi(argv[2]);
	if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, NULL))
		return 1;
	return 0;
}
`;

/**
 * Only the epollers: other processes' blocks on a shared host can fill the snapshot ring buffer, and the kernel's
 * frame-pointer walk it then falls back to skips the caller of libc's epoll_wait (sherlock_poll_wait_7c1d).
 */
const EPOLLERS = { comm: 'sherlock-epolle' }; // TASK_COMM_LEN cuts it
const isEpollWait = (s: OffcpuStack) => s.frames.some((f) => f.kind === 'kernel' && f.name === 'ep_poll');

describe.skipIf(skip)(`offcputime's long epoll waits on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let epoller: string;

  beforeAll(() => {
    tmp = new TempDir();
    epoller = tmp.compileC('sherlock-epoller', EPOLLER_C);
  });
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  /** Runs epollers (each [waits, ms]) in one capture; their pids, worker tids and µs measured inside the waits. */
  const epollWaits = async (children: [number, number][], params: Record<string, unknown> = {}) => {
    let ran: { pid: number; tid: number; waitedUs: number }[] = [];
    const { result, programIds } = await captureDuring(
      offcputime,
      async () => {
        ran = await Promise.all(
          children.map(async ([n, ms]) => {
            const child = start(epoller, [String(n), String(ms)]);
            const done = await child.done;
            expect(done.code).toBe(0);
            const [tid, waitedUs] = done.stdout.trim().split(' ').map(Number);
            return { pid: child.pid, tid: tid!, waitedUs: waitedUs! };
          }),
        );
      },
      { params, target: EPOLLERS },
    );
    expect(stillLoaded(programIds)).toEqual([]);
    const waitsOf = (pid: number) => result.stacks.filter((s) => s.pid === pid && isEpollWait(s));
    return { result, ran, waitsOf };
  };

  it('counts 60 ms epoll waits by the thread that waited, with its user stack, weighted by the time it measured', async () => {
    const { ran, waitsOf } = await epollWaits([[12, 60]]);
    const { pid, tid, waitedUs } = ran[0]!;
    expect(tid).not.toBe(pid);
    expect(waitedUs).toBeGreaterThan(12 * 60_000 * 0.95);

    const waits = waitsOf(pid);
    expect(waits.length).toBeGreaterThan(0);
    // Its kernel frames synthesized (timed at the exit, not walked); its user frames unwound from the thread's stack.
    for (const s of waits) {
      expect(s.frames.filter((f) => f.kind === 'kernel').map((f) => f.name)).toEqual(['do_epoll_wait', 'ep_poll']);
      expect(s.frames.map((f) => f.name)).toContain('sherlock_poll_wait_7c1d');
    }
    // All 12 started and ended inside the window; one may go missing on a loaded host (a snapshot dropped).
    const blocks = waits.reduce((a, s) => a + s.blocks, 0);
    expect(blocks).toBeGreaterThanOrEqual(11);
    expect(blocks).toBeLessThanOrEqual(12);
    const value = waits.reduce((a, s) => a + s.value, 0);
    expect(value).toBeGreaterThan(waitedUs * 0.75);
    expect(value).toBeLessThan(waitedUs * 1.25);
    // By the worker thread only, with the stack's whole value.
    const threads = waits.flatMap((s) => s.threads ?? []);
    expect([...new Set(threads.map(([t]) => t))]).toEqual([tid]);
    expect(threads.reduce((a, [, us]) => a + us, 0)).toBe(value);
  });

  it('leaves out short epoll waits, which would cost a stack walk per event-loop wait, and counts long ones beside them', async () => {
    // The long waiter alongside shows the capture counted epoll waits in this very window.
    const { ran, waitsOf } = await epollWaits([
      [200, 2],
      [4, 60],
    ]);
    const [short, long] = ran;
    expect(short!.waitedUs).toBeGreaterThan(200 * 2000 * 0.9);
    expect(waitsOf(short!.pid)).toEqual([]);
    expect(waitsOf(long!.pid).reduce((a, s) => a + s.blocks, 0)).toBeGreaterThanOrEqual(3);
  });

  it('counts no epoll wait with minPollWaitUs: 0, though it sees the process (its main thread joining the worker)', async () => {
    const { result, ran, waitsOf } = await epollWaits([[6, 60]], { minPollWaitUs: 0 });
    const { pid, waitedUs } = ran[0]!;
    expect(waitedUs).toBeGreaterThan(6 * 60_000 * 0.95);
    expect(waitsOf(pid)).toEqual([]);
    // The join is a futex wait, counted by default: the capture saw this process.
    expect(result.stacks.filter((s) => s.pid === pid).some((s) => s.threads?.some(([t]) => t === pid))).toBe(true);
  });
});
