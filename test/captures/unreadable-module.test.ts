// A module whose file cannot be read (as ELF: its header overwritten on disk
// after the process loaded it, as a replaced or damaged file looks): the
// process is still profiled, the module's frames are labelled module+offset,
// the walk says it stopped there for want of unwind information, and the
// capture counts it, on the real kernel.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, closeSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../src/captures/profile/index.js';
import { renderStackOutput } from '../../src/captures/stack-family/outputs.js';
import type { StackSample } from '../../src/stacks/types.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const skip = kernelSkipReason();

/** In the library: own work, then a call back into the program (not a tail call). */
const LIB_C = `
__attribute__((noinline)) unsigned long sherlock_hidden_mid_w3(unsigned long (*cb)(unsigned long), unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < 300000; i++)
		x = x * 31 + i;
	return cb(x) + x;
}
`;

/** Writes argv[2] when loaded, waits 400 ms (the test damages the library then), then calls through it for argv[1] ms. */
const MAIN_C = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
unsigned long sherlock_hidden_mid_w3(unsigned long (*cb)(unsigned long), unsigned long n);
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
__attribute__((noinline)) unsigned long sherlock_visible_leaf_v5(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < 1000000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}
int main(int argc, char **argv)
{
	FILE *ready = fopen(argv[2], "w");
	if (ready)
		fclose(ready);
	usleep(400000);
	double end = now_ms() + atof(argv[1]);
	unsigned long s = 0;
	while (now_ms() < end)
		s += sherlock_hidden_mid_w3(sherlock_visible_leaf_v5, s);
	return (int)(s & 1);
}
`;

const LIB = 'libsherlock_hidden.so';

async function waitFor(path: string, ms: number): Promise<void> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (existsSync(path)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} did not appear within ${ms} ms`);
}

describe.skipIf(skip)(`a module that cannot be read${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let bin: string;
  let lib: string;

  beforeAll(() => {
    tmp = new TempDir();
    const libDir = join(tmp.path, 'lib');
    mkdirSync(libDir);
    writeFileSync(join(tmp.path, 'lib.c'), LIB_C);
    writeFileSync(join(tmp.path, 'main.c'), MAIN_C);
    lib = join(libDir, LIB);
    bin = join(tmp.path, 'sherlock-hidden');
    const cc = (args: string[]) =>
      execFileSync('cc', ['-O2', '-fomit-frame-pointer', '-g0', ...args], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    cc(['-shared', '-fPIC', '-o', lib, join(tmp.path, 'lib.c')]);
    cc(['-o', bin, join(tmp.path, 'main.c'), `-L${libDir}`, '-lsherlock_hidden', `-Wl,-rpath,${libDir}`]);
    chmodSync(lib, 0o755);
  }, 300_000);
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('profile: the frames in it are module+offset, the walk stops there and says why, the rest of the process is named', async () => {
    const ready = join(tmp.path, 'ready');
    const child = start(bin, ['1600', ready]);
    await waitFor(ready, 5000);
    // Loaded: now its file stops being ELF (the code pages stay mapped; only the header page changes).
    const fd = openSync(lib, 'r+');
    writeSync(fd, Buffer.alloc(64), 0, 64, 0);
    closeSync(fd);

    const { result } = await captureDuring(profile, async () => void (await new Promise((r) => setTimeout(r, 1300))), {
      params: { frequency: 199 },
      target: { pid: [child.pid] },
    });
    await child.done;
    const mine = result.stacks.filter((s) => s.pid === child.pid);
    const total = mine.reduce((a, s) => a + s.value, 0);
    expect(total).toBeGreaterThan(10);
    const frames = mine.flatMap((s: StackSample) => s.frames);
    // Nothing from the library is named: its symbols could not be read.
    expect(frames.some((f) => f.name === 'sherlock_hidden_mid_w3')).toBe(false);
    const hidden = frames.filter((f) => f.module === LIB);
    expect(hidden.length).toBeGreaterThan(0);
    expect(hidden.every((f) => /^libsherlock_hidden\.so\+0x[0-9a-f]+$/.test(f.name))).toBe(true);
    // The program's own function, unwound by its CFI, returns into the library: the walk stops there and says so.
    const throughLib = mine.filter((s) => s.frames.at(-1)?.name === 'sherlock_visible_leaf_v5' || s.frames.some((f) => f.name === 'sherlock_visible_leaf_v5'));
    expect(throughLib.length).toBeGreaterThan(0);
    for (const s of throughLib) {
      const names = s.frames.filter((f) => f.kind !== 'kernel').map((f) => f.name);
      expect(names[0]).toBe(`[no unwind info for ${LIB}]`);
      expect(names[1]).toMatch(/^libsherlock_hidden\.so\+0x/);
    }
    // Counted, by module, and said in the text.
    expect(result.unwind?.ends['no-unwind-info']).toBeGreaterThan(0);
    expect(result.unwind?.noUnwindInfo[LIB]).toBeGreaterThan(0);
    expect(profile.text!(result)).toMatch(new RegExp(`stopped without unwind info \\(${LIB.replaceAll('.', '\\.')}: \\d+`));
    expect(renderStackOutput(result, 'folded')).toContain(`[no unwind info for ${LIB}];libsherlock_hidden.so+0x`);
  });
});
