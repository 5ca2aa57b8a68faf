// runqlat against the real kernel: four CPU-burning children on this
// machine's CPUs must each get a histogram whose total wait matches the time
// each measured itself not running (wall − CPU); a pid target must keep only
// that process; nothing may stay loaded.
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Mount } from '../../src/cgroups/mount.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/common.js';
import { runqlatAnalysis } from '../../src/captures/runqlat/analyze.js';
import { affinityOf, keyLayout, runqlat, runqlatText, type RunqlatData } from '../../src/captures/runqlat/index.js';
import { projectRoot } from '../../src/util/paths.js';
import { cRecordLayout } from '../helpers/c-layout.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createV1Cgroup } from '../helpers/memcg.js';
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

describe('runqlat affinity of a waiter gone by the end', () => {
  // No process has this pid: its CPUs come from where its slow waits ended.
  const gone = 0x3fffff00;
  const row = (cpus: number[]) => ({ pid: gone, behindPid: 7, behindComm: 'spinner', waits: 3, waitedMs: 9, cpus, allowed: 1, kthread: false });

  it('the CPUs its waits ended on when as many as it was allowed; with one wait that ended before its affinity moved it, those every row lists', () => {
    expect(affinityOf([row([1]), row([1])], 2)).toEqual({ [gone]: [1] });
    expect(affinityOf([row([0, 1]), row([1])], 2)).toEqual({ [gone]: [1] });
    expect(affinityOf([row([0, 1])], 2)).toEqual({});
    // Allowed every CPU: no affinity of its own to tell.
    expect(affinityOf([{ ...row([0, 1]), allowed: 2 }], 2)).toEqual({});
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

  const online = cpus().length;
  it.skipIf(online < 2)(
    `counts whom each slow wait was behind and the affinity of pinned waiters${online < 2 ? ' (skipped: one CPU, none left idle beside a pinned one)' : ''}`,
    async () => {
      const cpu = online - 1;
      const pinned: number[] = [];
      const { result } = await captureDuring(runqlat, async () => {
        const children = [0, 1, 2].map(() => start('taskset', ['-c', String(cpu), spinner, '1000']));
        pinned.push(...children.map((c) => c.pid)); // taskset execs the spinner: same pid
        for (const done of await Promise.all(children.map((c) => c.done))) expect(done.code).toBe(0);
      });
      for (const pid of pinned) {
        const rows = result.behind.filter((r) => r.pid === pid);
        expect(rows.length).toBeGreaterThan(0);
        const waitedMs = rows.reduce((n, r) => n + r.waitedMs, 0);
        // Three on one CPU: most of each one's slow waits ended as another of them left it.
        const behindOthers = rows.filter((r) => r.behindPid !== pid && pinned.includes(r.behindPid)).reduce((n, r) => n + r.waitedMs, 0);
        expect(behindOthers / waitedMs).toBeGreaterThan(0.6);
        // Pinned (taskset's sched_setaffinity, before its exec): on that CPU only. Its waits as the forked child before it may be anywhere.
        const asPinned = rows.filter((r) => r.allowed === 1);
        expect(asPinned.reduce((n, r) => n + r.waitedMs, 0) / waitedMs).toBeGreaterThan(0.9);
        // On that CPU (a wait that began before the affinity moved it, on the other, may list that one too).
        for (const r of asPinned) expect({ onIt: r.cpus.includes(cpu), kthread: r.kthread }).toEqual({ onIt: true, kthread: false });
        // Only waits of 1 ms or more: no more than all its waits, no less than its histogram's waits of 2 ms or more.
        const histogram = groupsOf(result, pid).reduce(
          (h, g) => ({
            sum: h.sum + g.histogram.sum,
            over2ms: h.over2ms + g.histogram.buckets.filter((b) => b.low >= 2048).reduce((n, b) => n + b.low * b.count, 0),
          }),
          { sum: 0, over2ms: 0 },
        );
        expect(waitedMs * 1000).toBeLessThanOrEqual(histogram.sum + 1);
        expect(waitedMs * 1000).toBeGreaterThanOrEqual(histogram.over2ms);
        expect(result.affinity[pid]).toEqual([cpu]);
      }
      // The text lists them as runqslower would.
      const text = runqlatText(result);
      expect(text).toContain('waits of 1000 µs or more, by the task that left the CPU as each ended:');
      expect(text).toMatch(
        new RegExp(
          `sherlock-spinne \\(pid (${pinned.join('|')})\\) behind sherlock-spinne \\(pid (${pinned.join('|')})\\): [\\d,]+ waits?, [\\d.]+ ms, CPUs ${cpu}`,
        ),
      );
      expect(result.cpuIdle.map((c) => c.cpu)).toEqual(Array.from({ length: online }, (_, i) => i));
      expect(result.cpuIdle.find((c) => c.cpu === cpu)!.idle).toBeLessThan(0.2);

      // The analysis names them pinned when the CPUs beside were idle enough to tell (on a busy host they are not).
      const window = 1.1;
      const { findings } = runqlatAnalysis.analyze(result as unknown as Record<string, unknown>, {
        node: 'n',
        capture: 'runqlat',
        file: 'f',
        thresholds: DEFAULT_THRESHOLDS,
        windowSeconds: window,
      });
      const pinnedFinding = findings.find((f) => f.id.endsWith(`pinned:${cpu}`));
      const idleElsewhere = result.cpuIdle.filter((c) => c.cpu !== cpu).reduce((n, c) => n + c.idle, 0) / (online - 1);
      // Its own CPU busy all the window (idle ≤10%: the spinners may start late on a loaded host) while the others idled.
      const idleInside = result.cpuIdle.find((c) => c.cpu === cpu)!.idle;
      if (idleElsewhere >= 0.4 && idleInside <= 0.1) expect(pinnedFinding).toBeDefined();
      if (pinnedFinding) {
        expect(pinnedFinding.title).toContain(`may run only on CPU ${cpu} of ${online}`);
        expect((pinnedFinding.evidence.processes as { pid: number }[]).map((p) => p.pid).sort()).toEqual([...pinned].sort());
        expect(pinnedFinding.links?.explains).toEqual(expect.arrayContaining(pinned.map((p) => `runq-pid:${p}`)));
      }
    },
  );

  const CPUSET_V1 = '/sys/fs/cgroup/cpuset';
  const cpusetSkip = online < 2 ? 'one CPU' : existsSync(join(CPUSET_V1, 'cpuset.cpus')) ? undefined : `no cgroup v1 cpuset hierarchy at ${CPUSET_V1}`;
  it.skipIf(cpusetSkip)(`names the cpuset that pins its waiters, not their own affinity${cpusetSkip ? ` (skipped: ${cpusetSkip})` : ''}`, async () => {
    const cpu = online - 1;
    const mems = readFileSync(join(CPUSET_V1, 'cpuset.mems'), 'utf8').trim();
    const cpuset = createV1Cgroup(CPUSET_V1, 'sherlock-test-cpuset', { 'cpuset.cpus': String(cpu), 'cpuset.mems': mems });
    try {
      const inCpuset = [0, 1, 2].map(() => cpuset.spawn([spinner, '3000']));
      const pinned = [0, 1].map(() => start('taskset', ['-c', String(cpu), spinner, '3000']));
      await new Promise((r) => setTimeout(r, 300)); // running, pinned, before the capture starts
      const { result } = await captureDuring(runqlat, () => new Promise((r) => setTimeout(r, 800)));
      for (const child of inCpuset) {
        expect(result.affinity[child.pid!]).toEqual([cpu]);
        expect(result.cpusets[child.pid!]).toBe(`/${cpuset.name}`);
      }
      for (const child of pinned) {
        expect(result.affinity[child.pid]).toEqual([cpu]);
        expect(result.cpusets[child.pid]).toBeUndefined();
      }
    } finally {
      killLeftovers();
      await cpuset.remove();
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
