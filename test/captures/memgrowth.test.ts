// memgrowth on this host: a process that leaks (keeps every buffer it
// allocates) in a memory cgroup with a limit, one whose heap grows and is
// freed again, and one that stays flat. Read from /proc while the window
// runs, the leak climbs reading after reading and the check says when its
// cgroup's limit is reached at that rate; the sawtooth is information; the
// flat one is left out. (A tmpfs filling: test/captures/fsfill.test.ts.)
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { anonymousBytes } from '../../src/captures/memgrowth/samples.js';
import { memgrowth, type MemgrowthData } from '../../src/captures/memgrowth/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { createMemcg, memcgSkipReason, type TestMemcg } from '../helpers/memcg.js';
import { on, result, run } from '../analysis/fixtures.js';

const MiB = 1024 * 1024;
const PYTHON = '/usr/bin/python3';
/** Allocates argv[1] MiB every 100 ms for 20 s, keeping them (a leak) or, with argv[2] "free", dropping them every 5th time. */
const ALLOCATOR = `import sys, time
kept, end = [], time.time() + 20
while time.time() < end:
    kept.append(bytearray(int(sys.argv[1]) * 1024 * 1024))
    if sys.argv[2:] == ['free'] and len(kept) == 5: kept.clear()
    time.sleep(0.1)`;

const analyze = (data: MemgrowthData, windowSeconds: number) =>
  memgrowth.analysis!.analyze(data as never, { node: 'n1', capture: 'memgrowth', file: 'f', thresholds: mergeThresholds(), windowSeconds }).findings;

describe('memgrowth: its check', () => {
  const row = {
    pid: 5,
    comm: 'billing-api',
    firstBytes: 100 * MiB,
    lastBytes: 400 * MiB,
    peakBytes: 400 * MiB,
    growthBytes: 300 * MiB,
    seconds: 3,
    samples: 13,
    rises: 12,
    falls: 0,
  };

  it('a steady climb under a limit it reaches within minutes is critical, with when; the host alone, 10 minutes away, information', () => {
    const limit = { cgroup: '/billing', limitBytes: 2048 * MiB, usageBytes: 1048 * MiB };
    const [f] = analyze({ rows: [{ ...row, limit }], processes: 100, intervalMs: 250, hostAvailableBytes: 20_000 * MiB }, 3);
    expect(f!.severity).toBe('critical');
    expect(f!.title).toBe(
      'billing-api (pid 5) grew its own memory by 300 MiB in 3 s on n1 (100 MiB/s, 100 MiB → 400 MiB), up in 12 of 12 readings: ' +
        'at this rate its memory cgroup /billing reaches its 2 GiB limit (1 GiB used) in ~10 s, and the OOM killer ends a process there; ' +
        "next: what it allocates and keeps (a heap profile: pprof, tracemalloc, jemalloc's or a JVM's heap dump), or roll back the release that began it.",
    );
    expect(f!.evidence).toMatchObject({ secondsLeft: 10, runsOutOf: 'cgroup', steady: true });
    const [host] = analyze({ rows: [row], processes: 100, intervalMs: 250, hostAvailableBytes: 60_000 * MiB }, 3);
    expect(host!.severity).toBe('info'); // 10 minutes away: not what slows anything now
    expect(host!.title).toContain("at this rate the host's available memory (58.6 GiB) is gone in ~10 min");
  });

  it('memory that also falls back is information; a reclaim stall at the limit is the growth’s effect', () => {
    const [saw] = analyze({ rows: [{ ...row, rises: 8, falls: 4, peakBytes: 500 * MiB }], processes: 1, intervalMs: 250 }, 3);
    expect(saw!.severity).toBe('info');
    expect(saw!.title).toContain('and down in 4: a heap that grows and is collected');
    const stalls = result('reclaim', {
      groups: [{ pid: 5, comm: 'billing-api', kind: 'cgroup', stalls: 40, stalledMs: 300, longestMs: 20, reclaimedBytes: 0, cgroup: '/billing' }],
      histogram: { unit: 'usecs', buckets: [], count: 40, sum: 300_000, p50: 0, p90: 0, p99: 0 },
      top: 10,
    });
    const growth = result('memgrowth', {
      rows: [{ ...row, limit: { cgroup: '/billing', limitBytes: 2048 * MiB, usageBytes: 2040 * MiB } }],
      processes: 1,
      intervalMs: 250,
    });
    const [top] = analyzeRun({ run: run(), results: [on(growth), on(stalls)] });
    expect(top!.capture).toBe('memgrowth');
    expect(top!.title).toContain('Effect: billing-api (pid 5) stalled 300 ms reclaiming memory');
  });
});

const skip = memcgSkipReason();

describe.skipIf(skip)(`memgrowth on this host${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const children: ChildProcess[] = [];
  let memcg: TestMemcg | undefined;
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await memcg?.remove();
    memcg = undefined;
  });

  it('follows a leak, a sawtooth and a flat process; the leak runs out of its cgroup in seconds', async () => {
    memcg = createMemcg(1024 * MiB);
    const leak = memcg.spawn([PYTHON, '-c', ALLOCATOR, '8']); // 80 MiB/s
    const saw = spawn(PYTHON, ['-c', ALLOCATOR, '8', 'free'], { stdio: 'ignore' });
    const flat = spawn(PYTHON, ['-c', 'import time\ntime.sleep(20)'], { stdio: 'ignore' });
    children.push(leak, saw, flat);
    await new Promise((r) => setTimeout(r, 300));
    // What the leak grew, read here as memgrowth reads it (anonymous resident pages) at the window's ends: ~160 MiB in 2 s, under load less.
    const anonymous = () => anonymousBytes([leak.pid!]).get(leak.pid!) ?? 0;
    let atLive = 0;
    const data = (await runCapture(memgrowth, { durationMs: 2000, params: { minGrowthMiB: 8 }, onLive: () => (atLive = anonymous()) })) as MemgrowthData & {
      durationMs: number;
    };
    const grown = anonymous() - atLive;
    const of = (pid: number) => data.rows.find((r) => r.pid === pid);
    const leaked = of(leak.pid!)!;
    expect(grown).toBeGreaterThan(32 * MiB);
    expect(leaked.growthBytes).toBeGreaterThan(grown * 0.7); // its readings may each be a step (250 ms) inside the window's ends
    expect(leaked.growthBytes).toBeLessThanOrEqual(grown);
    expect(leaked.falls).toBe(0);
    expect(leaked.limit).toMatchObject({ cgroup: `/${memcg.name}`, limitBytes: 1024 * MiB });
    expect(of(flat.pid!)).toBeUndefined();
    const findings = analyze(data, data.durationMs / 1000);
    const f = findings.find((x) => x.evidence.pid === leak.pid);
    expect(f?.severity).toBe('critical');
    expect(f?.title).toMatch(
      new RegExp(`^python3 \\(pid ${leak.pid}\\) grew its own memory by .*: at this rate its memory cgroup /${memcg.name} reaches its 1 GiB limit`),
    );
    const sawtooth = findings.find((x) => x.evidence.pid === saw.pid);
    if (sawtooth) expect(sawtooth.severity).toBe('info'); // freed every 5th step: it may not have grown 8 MiB over the window at all
  }, 30_000);
});
