// cputhrottle against real cgroups: a cgroup v1 cpu cgroup with a 10 ms per
// 100 ms quota and a CPU-bound child in it must show as throttled (periods,
// time, quota, the child), and the analysis must name all of it in one
// finding. The cgroup is removed after, also on failure.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { cpuHierarchies } from '../../src/captures/cputhrottle/cgroup-cpu.js';
import { cputhrottle, requireCpuHierarchies } from '../../src/captures/cputhrottle/index.js';
import { NotSupportedError } from '../../src/libbpf/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { resolveScope } from '../../src/captures/cputhrottle/scope.js';
import { readCpuTimes, stealBetween } from '../../src/captures/cputhrottle/steal.js';
import { killLeftovers, start, TempDir } from './sched-children.js';

const V1_CPU = '/sys/fs/cgroup/cpu';
const skip =
  process.getuid?.() !== 0
    ? 'needs root to make a cgroup'
    : !existsSync(join(V1_CPU, 'cpu.cfs_quota_us'))
      ? `no cgroup v1 cpu hierarchy with CFS bandwidth control at ${V1_CPU}`
      : undefined;

/** Spins on the CPU for argv[1] ms (bounded), in a named function. */
const BURN_C = String.raw`
#include <stdlib.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
int main(int argc, char **argv) {
	double end = now_ms() + atoi(argv[1]);
	volatile unsigned long n = 0;
	while (now_ms() < end) for (int i = 0; i < 100000; i++) n++;
	return 0;
}
`;

describe('cputhrottle: reading cgroup files', () => {
  it('finds v1 cpu mounts and a v2 mount only with the cpu controller', () => {
    const mountinfo = [
      '30 25 0:26 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu',
      '31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
      '32 25 0:28 / /nonexistent\\040v2 rw - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(cpuHierarchies(mountinfo)).toEqual([{ version: 1, mount: '/sys/fs/cgroup/cpu' }]);
    expect(cpuHierarchies('')).toEqual([]);
  });

  it('without a cpu controller it cannot run, and says why (a NotSupportedError: the run goes on without it)', () => {
    expect(() => requireCpuHierarchies([])).toThrow(NotSupportedError);
    expect(() => requireCpuHierarchies([])).toThrow(/cgroup cpu controller is not mounted here.*throttling cannot be read/);
    const v1 = [{ version: 1 as const, mount: '/sys/fs/cgroup/cpu' }];
    expect(requireCpuHierarchies(v1)).toBe(v1);
  });

  it("reads steal time from /proc/stat: the machine's line, in ms summed over CPUs", () => {
    const stat = (steal: number, idle: number) =>
      [`cpu  1000 10 500 ${idle} 20 0 30 ${steal} 400 0`, 'cpu0 500 5 250 0 10 0 15 0 0 0', 'cpu1 500 5 250 0 10 0 15 0 0 0', 'intr 1 2 3'].join('\n');
    const a = readCpuTimes(stat(100, 8000))!;
    expect(a).toEqual({ stealMs: 1000, totalMs: (1000 + 10 + 500 + 8000 + 20 + 0 + 30 + 100) * 10, cpus: 2 });
    expect(stealBetween(a, readCpuTimes(stat(340, 8960))!)).toEqual({ stealMs: 2400, totalMs: 12000, cpus: 2 });
    expect(readCpuTimes('intr 1 2 3')).toBeUndefined();
    expect(readCpuTimes()!.cpus).toBeGreaterThan(0); // this machine's
  });

  it('steal of 5% or more of the CPU time is a finding that leads the CPU saturation it explains; less is none', () => {
    const ctx = { node: 'n1', capture: 'cputhrottle', file: 'nodes/n1/cputhrottle.json', thresholds: mergeThresholds(), windowSeconds: 6 };
    const analyze = (host: object) =>
      cputhrottle.analysis!.analyze({ rows: [], scope: 'quota', windowUs: 6e6, truncated: false, vanished: 0, host } as never, ctx).findings;
    const [f] = analyze({ stealMs: 2400, totalMs: 12000, cpus: 2 });
    expect(f!.title).toMatch(/^The hypervisor took 20% of n1's CPU time over the 6 s window \(steal: 2\.4 s summed over 2 CPUs\)/);
    expect(f!.impact!.value).toBeCloseTo(0.4, 3);
    expect(f!.links).toEqual({ explains: ['cpu-saturation'], leads: true });
    expect(analyze({ stealMs: 500, totalMs: 12000, cpus: 2 })).toEqual([]);
  });

  it('refuses unknown settings with what is allowed', async () => {
    await expect(runCapture(cputhrottle, { durationMs: 10, params: { maxCgroups: 0 } })).rejects.toThrow(/maxCgroups/);
  });
});

describe.skipIf(skip)(`cputhrottle on a real cgroup${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let burn: string;
  const cgroup = join(V1_CPU, `sherlock-throttle-${process.pid}`);

  beforeAll(() => {
    tmp = new TempDir();
    burn = tmp.compileC('sherlock-burn', BURN_C);
  });
  afterAll(() => tmp?.remove());
  afterEach(async () => {
    killLeftovers();
    // The child is gone (killed or exited): the cgroup is empty and can go.
    for (let i = 0; i < 50 && existsSync(cgroup); i++) {
      try {
        rmdirSync(cgroup);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(existsSync(cgroup)).toBe(false);
  });

  it('names the cgroup, its quota, the throttled periods and time, and the process in it', async () => {
    mkdirSync(cgroup);
    writeFileSync(join(cgroup, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(cgroup, 'cpu.cfs_quota_us'), '10000');
    const child = start(burn, ['4000'], 10_000);
    writeFileSync(join(cgroup, 'cgroup.procs'), String(child.pid));

    const windowMs = 1500;
    const [targeted, everyQuota] = await Promise.all([
      runCapture(cputhrottle, { durationMs: windowMs, target: { pid: [child.pid] } }),
      runCapture(cputhrottle, { durationMs: windowMs }),
    ]);
    const name = `/sherlock-throttle-${process.pid}`;
    // The machine's CPU time over the window, summed over its CPUs (steal is 0 where the hypervisor reports none).
    expect(everyQuota.host!.totalMs / everyQuota.host!.cpus).toBeGreaterThan(windowMs * 0.7);
    expect(everyQuota.host!.totalMs / everyQuota.host!.cpus).toBeLessThan(windowMs * 1.5);
    expect(everyQuota.host!.stealMs).toBeGreaterThanOrEqual(0);
    for (const result of [targeted, everyQuota]) {
      const row = result.rows.find((r) => r.cgroup === name);
      expect(row, `${name} in ${result.rows.map((r) => r.cgroup).join(', ')}`).toBeDefined();
      expect(row!.hierarchy).toBe('v1');
      expect(row!.quotaUs).toBe(10_000);
      expect(row!.periodUs).toBe(100_000);
      expect(row!.limitCpus).toBeCloseTo(0.1);
      // 1.5 s of 100 ms periods, all but the odd one throttled; ~90 ms of each throttled on an idle
      // machine, less when other work delays the child's 10 ms (it is throttled from when it has used them).
      expect(row!.periods).toBeGreaterThanOrEqual(12);
      expect(row!.periods).toBeLessThanOrEqual(17);
      expect(row!.throttledPeriods).toBeGreaterThanOrEqual(row!.periods - 3);
      expect(row!.throttledUs).toBeGreaterThan(windowMs * 1000 * 0.4);
      expect(row!.throttledUs).toBeLessThan(windowMs * 1000 * 1.1);
      expect(row!.processes).toContainEqual({ pid: child.pid, comm: 'sherlock-burn' });
      expect(result.bpfCpuNs).toBe(0);
    }
    expect(targeted.scope).toBe('target');
    // The target's scope is its cgroup and the root above it, nothing else.
    expect(targeted.rows.map((r) => r.cgroup).sort()).toEqual(['/', name]);
    expect(everyQuota.scope).toBe('quota');

    const ctx = { node: 'web-1', capture: 'cputhrottle', file: 'nodes/web-1/cputhrottle.json', thresholds: mergeThresholds(), windowSeconds: windowMs / 1000 };
    const { findings, checked } = cputhrottle.analysis!.analyze(targeted as never, ctx);
    expect(checked).toMatch(/CPU throttling \(2 cgroups read, 1 throttled\)/);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.severity).toBe('critical');
    expect(f.title).toContain(`cgroup ${name} (v1) on web-1`);
    expect(f.title).toContain('quota of 10 ms per 100 ms (0.1 CPU)');
    expect(f.title).toContain(`sherlock-burn (pid ${child.pid})`);
    expect(f.title).toMatch(/throttled in the 1\.5 s window \(\d+%/);
    const impact = f.evidence.impact as { windowShareLost: number };
    expect(impact.windowShareLost).toBeGreaterThan(0.4);

    const metrics = cputhrottle.baseline!(targeted as never);
    expect(metrics[0]).toMatchObject({ metric: 'CPU throttled time, all cgroups (share of the window)', unit: 'pct', capture: 'cputhrottle' });
    expect(metrics[0]!.value).toBeGreaterThan(40);
    expect(metrics.some((m) => m.metric.includes(name))).toBe(true);
  });
  it('with no target, reads every cgroup with a quota of its own, throttled or not, and no other', () => {
    const idle = `${cgroup}-idle`;
    const open = `${cgroup}-open`;
    try {
      mkdirSync(idle);
      writeFileSync(join(idle, 'cpu.cfs_quota_us'), '50000');
      mkdirSync(open);
      const scope = resolveScope([{ version: 1, mount: V1_CPU }], { description: 'all processes' }, 4096);
      expect(scope.cgroups.has(idle), [...scope.cgroups.keys()].join(', ')).toBe(true);
      expect(scope.cgroups.has(open)).toBe(false);
      // The walk's reading is the whole one the window starts from: CPU time included where the kernel has it.
      const stat = scope.stats.get(idle)!;
      expect(stat).toMatchObject({ periods: 0, throttledPeriods: 0, throttledUs: 0 });
      if (existsSync(join(idle, 'cpuacct.usage'))) expect(stat).toHaveProperty('usageUs');
    } finally {
      for (const dir of [idle, open]) if (existsSync(dir)) rmdirSync(dir);
    }
  });
});
