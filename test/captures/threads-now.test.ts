// threadsNow against the real kernel: threads asleep in a C program (one on a
// mutex its main thread holds, built without frame pointers) and in a Python
// one (on a lock never released) are read from /proc without stopping them:
// kernel frames, user frames unwound by CFI from the stack at their system
// call, and Python frames in place of the eval loop's.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/symbolize/types.js';
import { threadsNow } from '../../src/captures/threads-now.js';
import { killLeftovers, start, TempDir } from './sched-children.js';

/** A worker thread blocks in sherlock_hang_here_3b7 on a mutex main holds for argv[1] s. */
const MUTEX_C = String.raw`
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static volatile int done;

__attribute__((noinline)) void sherlock_hang_here_3b7(void)
{
	pthread_mutex_lock(&held);
	done = 1;
	pthread_mutex_unlock(&held);
}

static void *worker(void *arg)
{
	sherlock_hang_here_3b7();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	pthread_mutex_lock(&held);
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	printf("ready\n");
	fflush(stdout);
	sleep(atoi(argv[1]));
	pthread_mutex_unlock(&held);
	pthread_join(t, NULL);
	return 0;
}
`;

const PYTHON_STUCK = `
import threading, time
never = threading.Lock()
never.acquire()

def stuck_here_5c1():
    never.acquire(timeout=30)

threading.Thread(target=stuck_here_5c1, daemon=True).start()
print('ready', flush=True)
time.sleep(30)
`;

const names = (frames: Frame[]) => frames.map((f) => f.name);
const until = async (check: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; Date.now() < end && !check(); ) await new Promise((r) => setTimeout(r, 50));
};

describe('threadsNow: where threads asleep since long ago wait, read from /proc', () => {
  let tmp: TempDir;
  let mutex: string;

  beforeAll(() => {
    tmp = new TempDir();
    mutex = tmp.compileC('sherlock-hang', MUTEX_C, '-O2');
  });
  afterAll(() => tmp?.remove());
  afterEach(() => killLeftovers());

  /** The threads of a child once it printed "ready" and a thread of it sleeps where `inKernel` says. */
  const asleep = async (file: string, args: string[], inKernel: RegExp) => {
    const child = start(file, args);
    let threads = threadsNow(child.pid);
    await until(() => (threads = threadsNow(child.pid)).some((t) => t.frames.some((f) => f.kind === 'kernel' && inKernel.test(f.name))));
    return { pid: child.pid, threads };
  };

  it('a C thread on a mutex: its kernel wait, and its caller unwound by CFI (no frame pointers)', async () => {
    const { pid, threads } = await asleep(mutex, ['10'], /^futex/);
    expect(threads.length).toBe(2);
    const worker = threads.find((t) => t.tid !== pid)!;
    expect(worker.state).toBe('S');
    const frames = names(worker.frames);
    // Root first: the thread's start, the program's function, libc's lock, then the kernel's futex wait.
    expect(frames).toContain('sherlock_hang_here_3b7');
    expect(frames).toContain('start_thread');
    expect(frames.indexOf('start_thread')).toBeLessThan(frames.indexOf('sherlock_hang_here_3b7'));
    expect(worker.frames.at(-1)!.kind).toBe('kernel');
    expect(frames.some((n) => /^futex/.test(n))).toBe(true);
    // The main thread sleeps in clock_nanosleep, called from main.
    expect(names(threads.find((t) => t.tid === pid)!.frames)).toEqual(expect.arrayContaining(['main', 'hrtimer_nanosleep']));
  }, 30_000);

  it('a Python thread on a lock: its Python function and line in place of the eval loop', async () => {
    const { pid, threads } = await asleep('python3', ['-c', PYTHON_STUCK], /^futex/);
    const worker = threads.find((t) => t.tid !== pid && t.frames.some((f) => f.name === 'stuck_here_5c1'));
    expect(worker, JSON.stringify(threads.map((t) => names(t.frames)))).toBeDefined();
    const here = worker!.frames.find((f) => f.name === 'stuck_here_5c1')!;
    expect(here).toMatchObject({ file: '<string>', line: 7 });
    expect(names(worker!.frames).some((n) => /^futex/.test(n))).toBe(true);
  }, 30_000);

  it('a process gone reads as no threads', () => {
    expect(threadsNow(2 ** 22 + 12345)).toEqual([]);
  });
});
