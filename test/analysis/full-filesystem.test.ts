// A full filesystem (fsfill's nearly-full rows), from results built here,
// beside CPUs that are a little short (a host-wide run-queue warning): the full
// disk leads a run about the disk or the host's health, and stays under the
// CPU warning in one about latency, where nothing says it slowed anyone; a
// write that failed there for want of room is its effect, and leads.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { histogram, on, result, run } from './fixtures.js';

const MiB = 1024 * 1024;

const fsfill = result('fsfill', {
  rows: [],
  nearlyFull: [
    {
      mount: '/data',
      kind: 'disk',
      fstype: 'ext4',
      source: '/dev/vdb',
      device: '254:16',
      sizeBytes: 20 * 1024 * MiB,
      usedBytes: 20 * 1024 * MiB,
      availableBytes: 0,
      inodes: { total: 1_310_720, free: 1_200_000 },
    },
  ],
  filesystems: 3,
  intervalMs: 1000,
});

// 100 wakeups of 8-16 ms among 5,000 short ones: a p99 just over the threshold, ~0.2 s/s of waiting (a host a little short of CPUs).
const runqlat = result('runqlat', {
  histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 5000, 13: 100 }) }],
  groupBy: 'process',
  top: 10,
  behind: [],
  behindMinUs: 1000,
  cpuIdle: [
    { cpu: 0, idle: 0.02 },
    { cpu: 1, idle: 0.01 },
  ],
  affinity: {},
});

const titles = (symptom: 'health' | 'disk' | 'latency') =>
  analyzeRun({ run: run({ symptom }), results: [on(fsfill), on(runqlat)] }).map((f) => `${f.severity} ${f.capture}: ${f.title}`);

describe('a full filesystem, ranked by what the run is about', () => {
  it('leads a health or disk run; a latency run keeps the CPUs first', () => {
    for (const symptom of ['health', 'disk'] as const) {
      expect(titles(symptom)[0]).toMatch(
        /^warning fsfill: Filesystem \/data \(ext4 on \/dev\/vdb\) on \S+ is full for a process without root: 0 B of its 20 GiB left to write, and writes to it fail with ENOSPC; next:/,
      );
    }
    const latency = titles('latency');
    expect(latency[0]).toMatch(/^warning runqlat: Runnable tasks waited [\d.]+ ms for a CPU at p99/);
    expect(latency[1]).toMatch(/^warning fsfill: Filesystem \/data /);
  });

  it('a write that failed there with ENOSPC leads, with the full filesystem as its cause, in any run', () => {
    const filesystem = {
      mountPoint: '/data',
      type: 'ext4',
      source: '/dev/vdb',
      device: '254:16',
      sizeBytes: 20 * 1024 * MiB,
      freeBytes: 0,
      freeInodes: 1_200_000,
    };
    const failed = (device: string) =>
      result('syscallerrors', {
        rows: [
          {
            pid: 812,
            comm: 'ledger',
            uid: 0,
            cgroupId: '1',
            syscall: 'write',
            nr: 1,
            errno: 'ENOSPC',
            fd: 5,
            fdTarget: { kind: 'file', name: '/data/ledger.db', filesystem: { ...filesystem, device } },
            count: 120,
            perSecond: 40,
            firstSeen: '2026-01-01T00:00:00.000Z',
            lastSeen: '2026-01-01T00:00:03.000Z',
            tid: 812,
          },
        ],
        failures: 120,
        normalFailures: 0,
        totalRows: 1,
      });
    for (const symptom of ['latency', 'health'] as const) {
      const findings = analyzeRun({ run: run({ symptom }), results: [on(fsfill), on(runqlat), on(failed('254:16'))] });
      expect(findings.filter((f) => f.capture === 'fsfill')).toEqual([]);
      const lead = findings.find((f) => f.capture === 'syscallerrors')!;
      expect(lead.title).toMatch(
        /^ledger \(pid 812\) failed write\(\) to \/data\/ledger\.db \(fd 5\) with ENOSPC .*\. Cause: Filesystem \/data \(ext4 on \/dev\/vdb\) on \S+ is full for a process without root/,
      );
    }
    // Another filesystem's failure is not this one's effect.
    const apart = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(fsfill), on(failed('254:32'))] });
    expect(apart.map((f) => f.capture).sort()).toEqual(['fsfill', 'syscallerrors']);
  });
});
