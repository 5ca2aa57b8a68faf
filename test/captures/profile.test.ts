// profile against the real kernel: a C child (cc -O0) burning CPU in a
// function with a distinctive name while reading /dev/zero, and a Node child
// (--perf-basic-prof) burning in a named JS function, must show those names
// at the top of their own stacks, with kernel frames named and sample counts
// matching the CPU time the child measured itself; the stack outputs must
// decode; nothing may stay loaded.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../src/captures/profile/index.js';
import { renderStackOutput, stackProfileOf } from '../../src/captures/stack-family/outputs.js';
import { topFunctions } from '../../src/captures/stack-family/stack-capture.js';
import { newTgidLayout, stackKeyLayout } from '../../src/captures/stack-family/stack-maps.js';
import { projectRoot } from '../../src/util/paths.js';
import { cRecordLayout } from '../helpers/c-layout.js';
import type { StackSample } from '../../src/stacks/types.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const skip = kernelSkipReason();

/** Spins in sherlock_spin_7d1c and reads 1 MiB of /dev/zero in turn for argv[1] ms; prints its CPU time (ms). */
const BURN_C = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) void sherlock_spin_7d1c(volatile unsigned long *x, long n)
{
	for (long i = 0; i < n; i++)
		*x += i * i;
}

__attribute__((noinline)) void sherlock_read_7d1c(int fd, char *buf, size_t len)
{
	if (read(fd, buf, len) < 0)
		exit(3);
}

int main(int argc, char **argv)
{
	double end = now_ms() + atof(argv[1]);
	int fd = open("/dev/zero", O_RDONLY);
	size_t len = 1 << 20;
	char *buf = malloc(len);
	volatile unsigned long x = 0;
	struct rusage ru;

	if (fd < 0 || !buf)
		return 2;
	while (now_ms() < end) {
		sherlock_spin_7d1c(&x, 300000);
		sherlock_read_7d1c(fd, buf, len);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("%.1f\n", ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
	return 0;
}
`;

/** Burns in sherlockJsBurn for argv ms; prints its CPU time (ms). */
const BURN_JS = `
function sherlockJsBurn(n) {
  let x = 0;
  for (let i = 0; i < n; i++) x += Math.sqrt(i) * (i & 7);
  return x;
}
const end = Date.now() + Number(process.argv[1]);
let total = 0;
while (Date.now() < end) total += sherlockJsBurn(200000);
const u = process.cpuUsage();
console.log(((u.user + u.system) / 1000).toFixed(1), total > 0);
`;

const READ_PATH = new Set(['vfs_read', 'ksys_read', '__x64_sys_read', '__arm64_sys_read', 'read_zero', 'iov_iter_zero', 'clear_user']);

const ofPid = (stacks: StackSample[], pid: number) => stacks.filter((s) => s.pid === pid);
const sum = (stacks: StackSample[]) => stacks.reduce((a, s) => a + s.value, 0);

describe('profile key layout', () => {
  it('matches bpf/common/stacks.h (shared with offcputime)', () => {
    const header = join(projectRoot, 'bpf/common/stacks.h');
    for (const layout of [stackKeyLayout, newTgidLayout]) {
      expect(cRecordLayout(header, layout)).toEqual({ struct: layout.struct, size: layout.size, offsets: layout.offsets });
    }
  });
});

describe.skipIf(skip)(`profile on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let burnC: string;

  beforeAll(() => {
    tmp = new TempDir();
    burnC = tmp.compileC('sherlock-burn', BURN_C);
  });
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('names a C function and a JS function at the top of their processes, kernel frames too, and writes every output', async () => {
    const frequency = 199;
    let cPid = 0;
    let jsPid = 0;
    let cCpuMs = 0;
    let jsCpuMs = 0;
    const captured = captureDuring(
      profile,
      async () => {
        const c = start(burnC, ['1500']);
        const js = start(process.execPath, ['--perf-basic-prof', '-e', BURN_JS, '1500']);
        cPid = c.pid;
        jsPid = js.pid;
        const [cDone, jsDone] = await Promise.all([c.done, js.done]);
        expect(cDone.code).toBe(0);
        expect(jsDone.code).toBe(0);
        cCpuMs = Number(cDone.stdout.trim());
        jsCpuMs = Number(jsDone.stdout.trim().split(' ')[0]);
      },
      { params: { frequency } },
    );
    // Node leaves its perf map behind: remove it whatever the capture did.
    const { result, programIds } = await captured.finally(() => jsPid && rmSync(`/tmp/perf-${jsPid}.map`, { force: true }));

    expect(stillLoaded(programIds)).toEqual([]);
    expect(result.kind).toBe('stacks');
    expect(result.drops).toEqual({});
    expect(result.dropped).toBe(0);
    expect(result.periodNs).toBe(Math.round(1e9 / frequency));
    expect(result.total).toBe(sum(result.stacks));
    expect(result.stacks.some((s) => s.pid === 0)).toBe(false); // the idle task is skipped by default

    // The C child: its spin function is where most of its samples end.
    const c = ofPid(result.stacks, cPid);
    const cSamples = sum(c);
    // Samples ≈ CPU time × frequency (the child measured its own CPU time).
    expect(cSamples).toBeGreaterThan((cCpuMs / 1000) * frequency * 0.7);
    expect(cSamples).toBeLessThan((cCpuMs / 1000) * frequency * 1.3);
    const cTop = topFunctions(c)
      .slice(0, 3)
      .map((f) => f.name);
    expect(cTop).toContain('sherlock_spin_7d1c');
    const spin = topFunctions(c).find((f) => f.name === 'sherlock_spin_7d1c')!;
    expect(spin.module).toBe('sherlock-burn');
    // Its callers are there, root first: main below the spin function.
    const spinStack = c.find((s) => s.frames.at(-1)?.name === 'sherlock_spin_7d1c')!;
    const names = spinStack.frames.map((f) => f.name);
    expect(names.indexOf('main')).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('main')).toBeLessThan(names.indexOf('sherlock_spin_7d1c'));
    // Kernel frames, named from kallsyms, above the user frames of the read.
    const readStacks = c.filter((s) => s.frames.some((f) => f.kind === 'kernel' && READ_PATH.has(f.name)));
    expect(readStacks.length).toBeGreaterThan(0);
    for (const s of readStacks) {
      const firstKernel = s.frames.findIndex((f) => f.kind === 'kernel');
      expect(s.frames.slice(firstKernel).every((f) => f.kind === 'kernel')).toBe(true);
      // libc's read() keeps no frame pointer, so the frame-pointer walk skips its caller; main is there.
      expect(s.frames.slice(0, firstKernel).map((f) => f.name)).toContain('main');
    }

    // The Node child: its JS function, from the perf map, leads its samples.
    const js = ofPid(result.stacks, jsPid);
    const jsSamples = sum(js);
    expect(jsSamples).toBeGreaterThan((jsCpuMs / 1000) * frequency * 0.6);
    const jsTop = topFunctions(js).slice(0, 3);
    expect(jsTop.some((f) => f.name.includes('sherlockJsBurn'))).toBe(true);
    const inBurn = sum(js.filter((s) => s.frames.some((f) => f.kind === 'jit' && f.name.includes('sherlockJsBurn'))));
    expect(inBurn / jsSamples).toBeGreaterThan(0.5);

    // Outputs: folded lines add up, pprof decodes, the SVG is balanced XML, speedscope parses.
    const folded = renderStackOutput(result, 'folded') as string;
    const foldedTotal = folded
      .trim()
      .split('\n')
      .reduce((a, line) => a + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    expect(foldedTotal).toBe(result.total);
    expect(folded).toContain('sherlock_spin_7d1c');

    const pprof = Profile.decode(gunzipSync(renderStackOutput(result, 'pprof') as Buffer));
    const pprofTotal = pprof.sample.reduce((a, s) => a + Number(s.value[0]), 0);
    expect(pprofTotal).toBe(result.total);
    expect(Number(pprof.period)).toBe(result.periodNs);
    const strings = pprof.stringTable.strings;
    expect(strings).toContain('sherlock_spin_7d1c');
    expect(strings.some((s) => s.includes('sherlockJsBurn'))).toBe(true);

    const svg = renderStackOutput(result, 'svg') as string;
    expect(svg.trimStart().startsWith('<')).toBe(true);
    expect(svg).toContain('sherlock_spin_7d1c');
    expect(unbalancedTags(svg)).toEqual([]);

    const speedscope = JSON.parse(renderStackOutput(result, 'speedscope') as string) as { shared: { frames: { name: string }[] } };
    expect(speedscope.shared.frames.some((f) => f.name === 'sherlock_spin_7d1c')).toBe(true);
    expect(stackProfileOf(result).samples).toBe(result.stacks);

    // The table and the text.
    const { columns, rows } = profile.table(result);
    expect(rows.length).toBe(Math.min(result.top, result.stacks.length));
    expect(columns.map((col) => col.header)).toContain('LEAF');
    expect(profile.text!(result)).toContain('sherlock_spin_7d1c');
  });

  it('with a pid target, samples only that process', async () => {
    // Both children burn before the capture starts; only the first is the target.
    const target = start(burnC, ['1500']);
    const other = start(burnC, ['1500']);
    try {
      const { result } = await captureDuring(profile, () => new Promise((r) => setTimeout(r, 700)), {
        params: { frequency: 499 },
        target: { pid: [target.pid] },
      });
      expect(result.target).toBe(`pid ${target.pid}`);
      expect(sum(ofPid(result.stacks, target.pid))).toBeGreaterThan(50);
      expect(result.stacks.every((s) => s.pid === target.pid)).toBe(true);
    } finally {
      await Promise.all([target.done, other.done]);
    }
  });
});

/** Element tags that do not close in order (a well-formedness check without a parser). */
function unbalancedTags(xml: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  const body = xml
    .replace(/<\?[\s\S]*?\?>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')
    .replace(/<!DOCTYPE[^>]*>/gi, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name!);
    else if (stack.pop() !== name) problems.push(`</${name}>`);
  }
  return [...problems, ...stack.map((n) => `<${n}> unclosed`)];
}
