// runqlat against the real kernel: four CPU-burning children on this
// machine's CPUs must each get a histogram whose total wait matches the time
// each measured itself not running (wall − CPU); a pid target must keep only
// that process; nothing may stay loaded.
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Mount } from '../../src/cgroups/mount.js';
import { keyLayout, runqlat, runqlatText, type RunqlatData } from '../../src/captures/runqlat/index.js';
import { projectRoot } from '../../src/util/paths.js';
import { cRecordLayout } from '../helpers/c-layout.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const skip = kernelSkipReason();

/** Spins for argv[1] ms of wall time; prints "wall_us cpu_us". */
const SPIN_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	double t0 = now_us(), end = t0 + atof(argv[1]) * 1e3;
	volatile unsigned long x = 0;
	struct rusage ru;

	while (now_us() < end)
		for (int i = 0; i < 10000; i++)
			x += i;
	getrusage(RUSAGE_SELF, &ru);
	printf("%.0f %.0f\n", now_us() - t0,
	       ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec);
	return 0;
}
`;

const groupsOf = (data: RunqlatData, pid: number) => data.histograms.filter((h) => h.labels.pid === pid);

describe('runqlat key layout', () => {
  it('matches bpf/runqlat/runqlat.h', () => {
    expect(cRecordLayout(join(projectRoot, 'bpf/runqlat/runqlat.h'), keyLayout)).toEqual({
      struct: 'runqlat_key',
      size: keyLayout.size,
      offsets: keyLayout.offsets,
    });
  });
});

describe.skipIf(skip)(`runqlat on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let spinner: string;

  beforeAll(() => {
    tmp = new TempDir();
    spinner = tmp.compileC('sherlock-spinner', SPIN_C);
  });
  afterAll(() => tmp?.remove());
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('gives each of more burners than CPUs a histogram matching the time it waited', async () => {
    const burners = Math.min(16, Math.max(3, cpus().length * 2)); // bounded on big machines
    const measured = new Map<number, { wallUs: number; cpuUs: number }>();
    const { result, programIds } = await captureDuring(runqlat, async () => {
      const children = Array.from({ length: burners }, () => start(spinner, ['1000']));
      for (const done of await Promise.all(children.map((c) => c.done))) {
        expect(done.code).toBe(0);
        const [wallUs, cpuUs] = done.stdout.trim().split(' ').map(Number) as [number, number];
        measured.set(done.pid, { wallUs, cpuUs });
      }
    });
    expect(stillLoaded(programIds)).toEqual([]);
    expect(result.kind).toBe('histogram');
    expect(result.groupBy).toBe('process');
    const [overall] = result.histograms;
    expect(overall!.labels).toEqual({ scope: 'all' });

    let waitedUs = 0;
    for (const [pid, m] of measured) {
      const groups = groupsOf(result, pid);
      expect(groups.length).toBeGreaterThan(0);
      // Waits before the exec count under the parent's name (the fork was a copy of node).
      expect(groups.map((g) => g.labels.comm)).toContain('sherlock-spinne');
      const count = groups.reduce((a, g) => a + g.histogram.count, 0);
      expect(count).toBeGreaterThan(0);
      // From exec on, time not running ≈ time in the run queue (the burner never sleeps).
      const sumUs = groups.filter((g) => g.labels.comm === 'sherlock-spinne').reduce((a, g) => a + g.histogram.sum, 0);
      const notRunningUs = m.wallUs - m.cpuUs;
      expect(sumUs).toBeGreaterThan(notRunningUs * 0.7 - 5_000);
      expect(sumUs).toBeLessThan(notRunningUs * 1.3 + 5_000);
      waitedUs += sumUs;
    }
    // More burners than CPUs: together they waited at least (burners − CPUs) × most of their second.
    expect(waitedUs).toBeGreaterThan(Math.max(0, burners - cpus().length) * 1_000_000 * 0.5);
    expect(overall!.histogram.count).toBeGreaterThanOrEqual(
      [...measured.keys()].reduce((a, pid) => a + groupsOf(result, pid).reduce((b, g) => b + g.histogram.count, 0), 0),
    );
    const text = runqlatText(result);
    expect(text).toContain('all tasks');
    expect(text).toContain('usecs');
    expect(runqlat.table(result).rows).toBe(result.histograms);
  });

  it('with a pid target, times only that process', async () => {
    const target = start(spinner, ['1500']);
    const others = [start(spinner, ['1500']), start(spinner, ['1500']), start(spinner, ['1500'])];
    try {
      await new Promise((r) => setTimeout(r, 100)); // running before the capture starts
      const { result } = await captureDuring(runqlat, () => new Promise((r) => setTimeout(r, 700)), {
        target: { pid: [target.pid] },
      });
      const groups = result.histograms.slice(1);
      expect(groups.length).toBeGreaterThan(0);
      expect(groups.every((g) => g.labels.pid === target.pid)).toBe(true);
      expect(result.histograms[0]!.histogram.count).toBe(groups.reduce((a, g) => a + g.histogram.count, 0));
    } finally {
      await Promise.all([target.done, ...others.map((o) => o.done)]);
    }
  });

  const mount = cgroup2Mount();
  it.skipIf(!mount)(`groups by cgroup when asked, naming the cgroup by its path${mount ? '' : ' (skipped: no cgroup v2 mount)'}`, async () => {
    const name = `sherlock-test-runqlat-${process.pid}-${Date.now()}`;
    const dir = join(mount!, name);
    mkdirSync(dir);
    try {
      // The burners move themselves into the new cgroup, then exec the spinner.
      const inCgroup = () => start('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec ${spinner} 400`]);
      const { result } = await captureDuring(
        runqlat,
        async () => {
          const children = [inCgroup(), inCgroup(), inCgroup(), inCgroup()];
          for (const done of await Promise.all(children.map((c) => c.done))) expect(done.code).toBe(0);
        },
        { params: { perCgroup: true } },
      );
      expect(result.groupBy).toBe('cgroup');
      const groups = result.histograms.slice(1);
      expect(groups.every((g) => typeof g.labels.cgroup === 'string' && g.labels.pid === undefined)).toBe(true);
      const ours = groups.find((g) => g.labels.cgroup === `/${name}`);
      expect(ours?.labels.cgroupId).toBe(statSync(dir, { bigint: true }).ino.toString());
      // Four burners on this machine's CPUs for 400 ms: they waited.
      expect(ours!.histogram.count).toBeGreaterThan(0);
      if (cpus().length < 4) expect(ours!.histogram.sum).toBeGreaterThan(100_000);
    } finally {
      rmdirSync(dir);
    }
  });
});
