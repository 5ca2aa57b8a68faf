// Baseline comparison against a real redis-server: which baseline a run is
// compared with (its own runbook's, else health-check's; recorded before the
// run; same target), and when a row counts as a regression (enough samples,
// clearly worse) and becomes a finding.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compareRun, regressionFindings } from '../../src/baselines/compare.js';
import type { BaselineMetric } from '../../src/analysis/types.js';
import { isBaselineRun, recordBaseline } from '../../src/baselines/store.js';
import type { RunRecord } from '../../src/model/run.js';
import { oomkillBaseline } from '../../src/captures/oomkill/baseline.js';
import { syscallerrorsBaseline } from '../../src/captures/syscallerrors/baseline.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

const NODE = 'web-1';
const DEST = 'p99 connect latency to 10.0.3.7:5432';

function run(id: string, runbook: string, createdAt: string, requestedBy = 'admin', target: Record<string, unknown> = {}): RunRecord {
  return {
    id,
    status: 'completed',
    requestedBy,
    createdAt,
    finishedAt: createdAt,
    plan: { runbook, steps: [], durationMs: 1000, target, nodes: [NODE] },
    nodes: { [NODE]: { status: 'completed' } },
  } as RunRecord;
}

const us = (metric: string, value: number, samples = 50): BaselineMetric => ({ metric, value, unit: 'us', capture: 'tcpconnlat', samples });
const pct = (metric: string, value: number): BaselineMetric => ({ metric, value, unit: 'pct', capture: 'profile', samples: 500 });
const metrics = (...m: BaselineMetric[]) => new Map([[NODE, m]]);

describe('baseline comparison', () => {
  let server: TestRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url, { lazyConnect: true });
    await redis.connect();
  });
  beforeEach(async () => {
    await redis.flushall();
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.dispose();
  });

  it('only scheduled runs are baselines', () => {
    expect(isBaselineRun(run('a', 'health-check', '2026-11-24T03:00:00.000Z', 'schedule:nightly'))).toBe(true);
    expect(isBaselineRun(run('a', 'health-check', '2026-11-24T03:00:00.000Z', 'admin'))).toBe(false);
  });

  it('marks clear regressions only: twice as slow and 1 ms more from enough samples, CPU share up 15 points and doubled', async () => {
    const base = run('base', 'health-check', '2026-11-24T03:00:00.000Z', 'schedule:nightly');
    await recordBaseline(
      redis,
      base,
      metrics(
        us(DEST, 2100),
        us('p99 run-queue latency', 300),
        us('p99 block I/O latency on vda', 800),
        pct('CPU share of parse_json', 4),
        pct('CPU share of memcpy', 10),
        us('gone metric', 50),
      ),
    );
    const now = run('now', 'intermittent-latency', '2026-11-24T09:30:00.000Z');
    const cmp = await compareRun(
      redis,
      now,
      metrics(
        us(DEST, 212_000), // ×101, +210 ms: critical
        us('p99 run-queue latency', 1200, 3), // ×4 but only 3 samples
        us('p99 block I/O latency on vda', 1500), // ×1.9: not twice
        pct('CPU share of parse_json', 38), // +34 pts
        pct('CPU share of memcpy', 22), // +12 pts: not enough
        us('new metric', 9000),
      ),
    );
    const row = (metric: string) => cmp.rows.find((r) => r.metric === metric)!;
    expect(row(DEST)).toMatchObject({
      baseline: '2.1 ms',
      now: '212 ms',
      change: '×101',
      regression: 'critical',
      baselineRunId: 'base',
      baselineRunbook: 'health-check',
    });
    expect(row('p99 run-queue latency').regression).toBeUndefined();
    expect(row('p99 block I/O latency on vda')).toMatchObject({ change: '×1.9' });
    expect(row('p99 block I/O latency on vda').regression).toBeUndefined();
    expect(row('CPU share of parse_json')).toMatchObject({ baseline: '4%', now: '38%', change: '+34 pts', regression: 'warning' });
    expect(row('CPU share of memcpy').regression).toBeUndefined();
    expect(row('new metric')).toMatchObject({ baseline: 'none', change: 'new' });
    expect(row('gone metric')).toMatchObject({ now: 'none', change: 'gone' });
    expect(
      cmp.rows
        .slice(0, 2)
        .map((r) => r.metric)
        .sort(),
    ).toEqual(['CPU share of parse_json', DEST].sort()); // regressions first
    expect(cmp.missing).toEqual([]);

    const findings = regressionFindings(cmp, now);
    expect(findings.map((f) => [f.severity, f.capture, f.file])).toEqual([
      ['critical', 'tcpconnlat', `nodes/${NODE}/tcpconnlat.json`],
      ['warning', 'profile', `nodes/${NODE}/profile.json`],
    ]);
    expect(findings[0]!.title).toBe(`${DEST}: 2.1 ms (baseline, 03:00 UTC) → 212 ms (now), ×101.`);
  });

  it('judges rates (drops/s) and shares that were zero: a quiet baseline makes drops, throttling and lock waits now regressions', async () => {
    const rate = (metric: string, value: number, samples: number): BaselineMetric => ({ metric, value, unit: 'rate', capture: 'tcpdrop', samples });
    const share = (metric: string, value: number, capture: string): BaselineMetric => ({ metric, value, unit: 'pct', capture, samples: 30 });
    const base = run('quiet', 'health-check', '2026-11-24T03:00:00.000Z', 'schedule:nightly');
    await recordBaseline(
      redis,
      base,
      metrics(
        rate('packet drops per second', 0, 0),
        rate('packet drops per second (NO_SOCKET)', 2, 20),
        rate('packet drops per second (QDISC_DROP)', 1, 10),
        share('CPU throttled time, all cgroups (share of the window)', 0, 'cputhrottle'),
        share('lock wait time, all processes (share of the window)', 0, 'lockwait'),
      ),
    );
    const now = run('busy', 'intermittent-latency', '2026-11-24T09:30:00.000Z');
    const cmp = await compareRun(
      redis,
      now,
      metrics(
        rate('packet drops per second', 250, 1500), // from 0: critical (≥10× and ≥100/s more)
        rate('packet drops per second (NO_SOCKET)', 2.5, 25), // ×1.25: not twice
        rate('packet drops per second (QDISC_DROP)', 3, 2), // ×3 but from 2 drops
        share('CPU throttled time, all cgroups (share of the window)', 82, 'cputhrottle'),
        share('lock wait time, all processes (share of the window)', 9, 'lockwait'), // +9 pts: not 15
      ),
    );
    const row = (metric: string) => cmp.rows.find((r) => r.metric === metric)!;
    expect(row('packet drops per second')).toMatchObject({ baseline: '0/s', now: '250/s', change: 'new', regression: 'critical' });
    expect(row('packet drops per second (NO_SOCKET)').regression).toBeUndefined();
    expect(row('packet drops per second (QDISC_DROP)').regression).toBeUndefined();
    expect(row('CPU throttled time, all cgroups (share of the window)')).toMatchObject({ baseline: '0%', now: '82%', regression: 'warning' });
    expect(row('lock wait time, all processes (share of the window)').regression).toBeUndefined();
    expect(regressionFindings(cmp, now).map((f) => [f.severity, f.capture])).toEqual([
      ['critical', 'tcpdrop'],
      ['warning', 'cputhrottle'],
    ]);
  });

  it("prefers the run's own runbook's baseline, then health-check's; same target; recorded before the run", async () => {
    const at = (h: number) => `2026-11-24T0${h}:00:00.000Z`;
    await recordBaseline(redis, run('hc', 'health-check', at(1), 'schedule:hc'), metrics(us(DEST, 1000)));
    const later = run('now', 'intermittent-latency', at(5));
    expect((await compareRun(redis, later, metrics(us(DEST, 1000)))).rows[0]!.baselineRunId).toBe('hc');

    await recordBaseline(redis, run('own', 'intermittent-latency', at(2), 'schedule:il'), metrics(us(DEST, 1000)));
    expect((await compareRun(redis, later, metrics(us(DEST, 1000)))).rows[0]!.baselineRunId).toBe('own');

    // Recorded after the run was created: not its baseline.
    await recordBaseline(redis, run('after', 'intermittent-latency', at(7), 'schedule:il'), metrics(us(DEST, 1000)));
    expect((await compareRun(redis, later, metrics(us(DEST, 1000)))).rows[0]!.baselineRunId).toBe('own');

    // Another target has none.
    const other = run('svc', 'intermittent-latency', at(5), 'admin', { unit: 'checkout' });
    expect(await compareRun(redis, other, metrics(us(DEST, 1000)))).toMatchObject({ rows: [], missing: [NODE], target: 'unit="checkout"' });
  });

  it('a count going from 0 to N is a regression: an OOM kill after a baseline that saw none; few failing calls are not', async () => {
    const base = run('base', 'health-check', '2026-11-24T03:00:00.000Z', 'schedule:nightly');
    const quiet = [
      ...oomkillBaseline({ events: [], durationMs: 10_000 }),
      ...syscallerrorsBaseline({ rows: [], failures: 0, normalFailures: 0, durationMs: 10_000 }),
    ];
    await recordBaseline(redis, base, new Map([[NODE, quiet]]));
    const kill = { pid: 42, comm: 'java' };
    const now = run('now', 'health-check', '2026-11-24T09:30:00.000Z', 'schedule:nightly');
    const cmp = await compareRun(
      redis,
      now,
      new Map([
        [
          NODE,
          [
            ...oomkillBaseline({ events: [kill], durationMs: 60_000 }),
            ...syscallerrorsBaseline({ rows: [], failures: 3, normalFailures: 0, durationMs: 60_000 }),
          ],
        ],
      ]),
    );
    const row = (metric: string) => cmp.rows.find((r) => r.metric === metric)!;
    expect(row('OOM kills')).toMatchObject({ baseline: '0/min', now: '1/min', change: 'new', regression: 'warning' });
    // 3 failures: fewer than the 5 samples a noisy count needs.
    expect(row('failing system calls (not normal behaviour)')).toMatchObject({ baseline: '0/min', now: '3/min' });
    expect(row('failing system calls (not normal behaviour)').regression).toBeUndefined();
    const findings = regressionFindings(cmp, now);
    expect(findings.map((f) => [f.severity, f.capture])).toEqual([['warning', 'oomkill']]);
    expect(findings[0]!.title).toBe('OOM kills: 0/min (baseline, 03:00 UTC) → 1/min (now), new.');

    // The same number of kills as the baseline saw is no regression.
    await recordBaseline(
      redis,
      run('base2', 'health-check', '2026-11-24T09:00:00.000Z', 'schedule:nightly'),
      new Map([[NODE, oomkillBaseline({ events: [kill], durationMs: 60_000 })]]),
    );
    const again = await compareRun(redis, now, new Map([[NODE, oomkillBaseline({ events: [kill], durationMs: 60_000 })]]));
    expect(again.rows[0]!.regression).toBeUndefined();
  });
});
